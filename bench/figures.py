"""The figures of a bench run: the results document (`bench/results/<timestamp>.json`), its
derived per-group figures, and the one-line headline `jps bench` prints."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.config import RESULTS_DIR, BenchConfig
from bench.measure import latency_summary, machine
from bench.officers import Team
from jps.domain.programs import Program
from jps.settings import PROJECT_ROOT


def figures(
    cfg: BenchConfig, *, stamp: str, data_dir: Path, child_env: dict[str, str], **m: Any
) -> dict[str, Any]:
    """The results document: every figure of one run, from what the phases measured (`m`)."""
    team: Team = m["team"]
    stats = team.stats
    completed = m["stage_counts"].get("completed", 0)
    wall_s = m["wall_s"]
    groups_per_s = completed / wall_s if wall_s else 0.0
    skeleton = m["skeleton"]
    actions_all = [x for v in stats.actions.values() for x in v]
    action = latency_summary(actions_all)
    under_load: dict[str, list[float]] = {}
    for r in m["readers"]:
        for k, v in r.samples.items():
            under_load.setdefault(k, []).extend(v)
    reads = {k: latency_summary(under_load.get(k, [])) for k in ("list", "detail", "inbox", "summary")}
    rest = {k: latency_summary(m["rest"].samples.get(k, [])) for k in ("list", "detail", "inbox", "summary")}
    read_all = [x for v in under_load.values() for x in v]
    job = m["job"]
    import_wall = _job_seconds(job) or m["import_s"]
    processes = m["processes"]
    worker_peaks = [v["peak_mb"] for k, v in processes.items() if k.startswith("worker")]
    people = m["people"]
    profiles = m["profiles"]
    events_per_group = _weighted(profiles, m["counts"], "events_mean")
    return {
        "timestamp": stamp,
        "groups": m["n_groups"],
        "people": people,
        "scale": cfg.scale if cfg.groups is None else round(m["n_groups"] / 3076, 5),
        "completed": completed,
        "finished": m["finished"],
        "wall_s": round(wall_s, 1),
        "groups_per_s": round(groups_per_s, 3),
        "skeleton_groups_per_s": skeleton.groups_per_s,
        "ratio": round(groups_per_s / skeleton.groups_per_s, 3) if skeleton.groups_per_s else 0.0,
        "action_p50_ms": action["p50_ms"],
        "action_p95_ms": action["p95_ms"],
        "action_p99_ms": action["p99_ms"],
        "read_p99_ms": latency_summary(read_all)["p99_ms"],
        "worker_peak_mb": max(worker_peaks) if worker_peaks else None,
        "dashboard_render_ms": m["dashboard"].get("median_ms"),
        "dashboard": m["dashboard"],
        "config": {
            "officers": cfg.officers,
            "workers": cfg.workers,
            "readers": cfg.readers,
            "seconds_per_day": cfg.seconds_per_day,
            "bank_poll_after_s": cfg.bank_poll_after_s,
            "log_level": cfg.log_level,
            "idle_poll_s": cfg.idle_poll_s,
            "pythondontwritebytecode": child_env.get("PYTHONDONTWRITEBYTECODE", ""),
            "skeleton_concurrency": cfg.skeleton_concurrency,
        },
        "programs": {p.value: n for p, n in m["counts"].items()},
        "import": {
            "groups": job["created"],
            "rows": job["rows"],
            "seconds": round(import_wall, 1),
            "groups_per_s": round(job["created"] / import_wall, 2) if import_wall else None,
            "rows_per_s": round(job["rows"] / import_wall, 1) if import_wall else None,
        },
        "stages": m["stages"],
        "final_stages": m["stage_counts"],
        "actions": {k: latency_summary(v) for k, v in sorted(stats.actions.items())},
        "bulk_calls": {
            k: {**latency_summary(v), "groups": stats.bulk_items[k]}
            for k, v in sorted(stats.bulk_calls.items())
        },
        "reads_under_load": reads,
        "reads_at_rest": rest,
        "read_p99_at_rest_ms": latency_summary([x for v in m["rest"].samples.values() for x in v])["p99_ms"],
        "officer_inbox_reads": latency_summary(stats.reads.get("inbox_officer", [])),
        "statuses": dict(sorted(stats.statuses.items())),
        "errors": stats.errors[:20],
        "processes": processes,
        "worker_metrics": m["lifecycle_metrics"],
        "cpu_s_total": round(sum(v["cpu_s"] for k, v in processes.items() if k != "other_processes"), 1),
        "machine_cpu": m["machine_cpu"],
        "cpu_ms_per_group": _per_group(processes, completed),
        "skeleton": {
            **skeleton.model_dump(),
            "plans": {p.value: pl.model_dump() for p, pl in m["plans"].items()},
            "processes": m["skel_processes"],
            "cpu_ms_per_group": _per_group(m["skel_processes"], skeleton.groups),
            "machine_cpu": m["skel_machine_cpu"],
            "history": m["skel_profile"],
            "worker_metrics": m["skel_metrics"],
        },
        "temporal": {
            "history_events_per_group": events_per_group,
            "history_kb_per_group": _weighted(profiles, m["counts"], "history_kb_mean"),
            "by_program": profiles,
            "db_mb": _temporal_db_mb(data_dir),
        },
        "audit_events": m["events"],
        "audit_chain_lock": m["locks"],
        "postgres": {
            **m["pg"],
            "wal_mb_lifecycle": round(float(m["wal_bytes"]) / 1024 / 1024, 1),
            "wal_kb_per_group": round(float(m["wal_bytes"]) / 1024 / max(1, completed), 1),
        },
        "machine": machine(),
        "code": _code_version(),
    }


def _per_group(processes: dict[str, dict[str, float]], groups: int) -> dict[str, float]:
    if not groups:
        return {}
    ours = {k: v for k, v in processes.items() if k != "other_processes"}
    out = {k: round(v["cpu_s"] * 1000 / groups, 1) for k, v in ours.items()}
    out["all"] = round(sum(v["cpu_s"] for v in ours.values()) * 1000 / groups, 1)
    return out


def _code_version() -> dict[str, Any]:
    """The commit measured, and whether the tree had uncommitted changes to product code."""
    import subprocess

    def git(*args: str) -> str:
        try:
            return subprocess.run(
                ["git", *args], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=10, check=False
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    changed = [line[3:] for line in git("status", "--porcelain").splitlines()]
    product = [
        p for p in changed if p.split("/")[0] in ("workflows", "activities", "api", "jps", "worker.py")
    ]
    return {"commit": git("rev-parse", "--short", "HEAD"), "uncommitted_product_files": product}


def _job_seconds(job: dict[str, Any]) -> float | None:
    try:
        start = datetime.fromisoformat(job["started_at"])
        end = datetime.fromisoformat(job["finished_at"])
    except (KeyError, TypeError, ValueError):
        return None
    return (end - start).total_seconds()


def _weighted(profiles: dict[str, dict[str, Any]], counts: dict[Program, int], key: str) -> float | None:
    pairs: list[tuple[float, int]] = [
        (float(profiles[p.value][key]), n)
        for p, n in counts.items()
        if profiles.get(p.value, {}).get(key) is not None
    ]
    total = sum(n for _, n in pairs)
    return round(sum(v * n for v, n in pairs) / total, 1) if total else None


def _temporal_db_mb(data_dir: Path) -> float:
    size = sum(p.stat().st_size for p in data_dir.glob("temporal.db*") if p.is_file())
    return round(size / 1024 / 1024, 1)


def write_results(result: dict[str, Any], out: Path | None) -> Path:
    if out is None:
        path = RESULTS_DIR / f"{result['timestamp']}.json"
    elif out.suffix == ".json":
        path = out
    else:
        path = out / f"{result['timestamp']}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2, default=str) + "\n")
    return path


def headline(result: dict[str, Any]) -> str:
    return (
        f"groups={result['groups']} wall_s={result['wall_s']} groups_per_s={result['groups_per_s']} "
        f"skeleton_groups_per_s={result['skeleton_groups_per_s']} ratio={result['ratio']} "
        f"action_p99_ms={result['action_p99_ms']} read_p99_ms={result['read_p99_ms']} "
        f"worker_peak_mb={result['worker_peak_mb']}"
    )
