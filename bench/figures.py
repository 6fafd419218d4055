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
        "scale": cfg.effective_scale(m["n_groups"]),
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
        **m["imported"].figures(),
        **m["load"],
        **_cost(processes, completed, m["skel_processes"], skeleton.groups, profiles),
        "config": {
            "officers": cfg.officers,
            "workers": cfg.workers,
            "readers": cfg.readers,
            "seconds_per_day": cfg.seconds_per_day,
            "bank_poll_after_s": cfg.bank_poll_after_s,
            "wage_weeks": cfg.wage_weeks,
            "log_level": cfg.log_level,
            "idle_poll_s": cfg.idle_poll_s,
            "pythondontwritebytecode": child_env.get("PYTHONDONTWRITEBYTECODE", ""),
            "skeleton_concurrency": cfg.skeleton_concurrency,
            "paced_rate": cfg.paced_rate,
            "paced_seconds": cfg.paced_seconds,
            "capacity_steps": list(cfg.capacity_steps),
            "step_seconds": cfg.step_seconds,
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
        "code": code_measured(m["code_at_start"]),
    }


# The product's own processes (not the simulators, not the bench), and the skeleton's counterparts.
PRODUCT = ("temporal", "api", "postgres")


def _cpu_ms(processes: dict[str, dict[str, float]], groups: int) -> dict[str, float]:
    ours = {k: v["cpu_s"] for k, v in processes.items() if k in PRODUCT or k.startswith("worker")}
    return {k: round(v * 1000 / groups, 1) for k, v in ours.items()} if groups else {}


def _cost(
    processes: dict[str, dict[str, float]],
    groups: int,
    skel_processes: dict[str, dict[str, float]],
    skel_groups: int,
    profiles: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    """CPU per group of the product's processes over the whole lifecycle, the skeleton's beside it,
    and the size of a group's Temporal history per programme."""
    ours = _cpu_ms(processes, groups)
    skel = _cpu_ms(skel_processes, skel_groups)
    product, skeleton = round(sum(ours.values()), 1), round(sum(skel.values()), 1)
    return {
        "product_cpu_ms_per_group": product if ours else None,
        "product_cpu_ms_by_process": ours,
        "skeleton_cpu_ms_per_group": skeleton if skel else None,
        "cpu_ratio": round(skeleton / product, 3) if product and skel else None,
        "history_events_per_group": {p: v.get("events_mean") for p, v in profiles.items()},
        "history_bytes_per_group": {p: v.get("history_bytes_mean") for p, v in profiles.items()},
    }


def _per_group(processes: dict[str, dict[str, float]], groups: int) -> dict[str, float]:
    if not groups:
        return {}
    ours = {k: v for k, v in processes.items() if k != "other_processes"}
    out = {k: round(v["cpu_s"] * 1000 / groups, 1) for k, v in ours.items()}
    out["all"] = round(sum(v["cpu_s"] for v in ours.values()) * 1000 / groups, 1)
    return out


def code_measured(at_start: dict[str, Any]) -> dict[str, Any]:
    """The code the run measured: the tree when its processes started (they imported it then). A
    commit made while it ran is named beside it, never in its place."""
    now = code_version()
    return at_start if now == at_start else {**at_start, "head_at_end": now["commit"]}


def code_version() -> dict[str, Any]:
    """The commit checked out, and whether the tree had uncommitted changes to product code."""
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
        p
        for p in changed
        if p.split("/")[0] in ("workflows", "activities", "api", "jps", "infra", "simulators", "worker.py")
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
    """What `jps bench` prints: the closed loop's line, then the human pace, the capacity table, the
    import and bulk figures, the cost (a missing phase shows None)."""
    r = result.get
    lines = [
        f"groups={r('groups')} wall_s={r('wall_s')} groups_per_s={r('groups_per_s')} "
        f"skeleton_groups_per_s={r('skeleton_groups_per_s')} ratio={r('ratio')} "
        f"action_p99_ms={r('action_p99_ms')} read_p99_ms={r('read_p99_ms')} "
        f"worker_peak_mb={r('worker_peak_mb')} dashboard_render_ms={r('dashboard_render_ms')}",
        f"human pace: paced_actions_per_s={r('paced_actions_per_s')} "
        f"paced_action_p50_ms={r('paced_action_p50_ms')} paced_action_p99_ms={r('paced_action_p99_ms')} "
        f"paced_read_p50_ms={r('paced_read_p50_ms')} paced_read_p99_ms={r('paced_read_p99_ms')}",
        f"capacity: capacity_actions_per_s={r('capacity_actions_per_s')} "
        f"officers_served={r('officers_served')} (one action per officer every 30 s)",
        *(
            f"  rate {s['rate']:>6g}/s  achieved {s['achieved']:>7}/s  "
            f"p50 {s['p50_ms']} ms  p99 {s['p99_ms']} ms"
            + ("  (ran short of open tasks)" if s["starved"] else "")
            for s in r("capacity_curve") or []
        ),
        f"import: import_dry_run_s={r('import_dry_run_s')} import_quiet_s={r('import_quiet_s')} "
        f"import_limit_s={r('import_limit_s')} bulk_approve_s={r('bulk_approve_s')} "
        f"(groups {(r('bulk_approve') or {}).get('groups')})",
        f"cost: product_cpu_ms_per_group={r('product_cpu_ms_per_group')} "
        f"{r('product_cpu_ms_by_process')} skeleton_cpu_ms_per_group={r('skeleton_cpu_ms_per_group')} "
        f"cpu_ratio={r('cpu_ratio')} history_events_per_group={r('history_events_per_group')} "
        f"history_bytes_per_group={r('history_bytes_per_group')}",
    ]
    return "\n".join(lines)
