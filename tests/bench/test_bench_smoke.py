"""The bench machinery end to end at a tiny scale: its own stack on free ports, four groups imported
from an XLSX on a quiet stack beside the skeleton's registration limit, officers at a human pace and
a two-step capacity curve on them, the waiting disbursements approved in bulk, then driven to
completed by simulated officers through the HTTP API (the TKM groups' LPJs included), the skeleton
on the same dev server, and a results file with every figure the README table and DESIGN.md name.

A behaviour test, not a timing assertion: the figures must exist and be sane, not fast."""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.runner import BenchConfig, run_bench

REQUIRED = (
    "groups",
    "people",
    "scale",
    "wall_s",
    "groups_per_s",
    "skeleton_groups_per_s",
    "ratio",
    "action_p50_ms",
    "action_p95_ms",
    "action_p99_ms",
    "read_p99_ms",
    "worker_peak_mb",
    "dashboard_render_ms",
    "machine",
    "import",
    "stages",
    "reads_under_load",
    "reads_at_rest",
    "processes",
    "temporal",
    "postgres",
    "paced_actions_per_s",
    "paced_action_p50_ms",
    "paced_action_p99_ms",
    "paced_read_p50_ms",
    "paced_read_p99_ms",
    "capacity_actions_per_s",
    "capacity_curve",
    "officers_served",
    "import_quiet_s",
    "import_limit_s",
    "import_dry_run_s",
    "bulk_approve_s",
    "product_cpu_ms_per_group",
    "skeleton_cpu_ms_per_group",
    "cpu_ratio",
    "history_events_per_group",
    "history_bytes_per_group",
)


def _done(result: dict[str, Any], action: str) -> int:
    """Requests of `action` answered 200 (201 for an upload) in every phase: each lifecycle step once."""
    ok = f"{action}:{201 if action.startswith('upload-') else 200}"
    phases = [result["paced"], *result["capacity_steps"]]
    return (
        result["statuses"].get(ok, 0)
        + sum(p["statuses"].get(ok, 0) for p in phases)
        + result["bulk_approve"]["statuses"].get(ok, 0)
    )


@pytest.fixture
def data_dir() -> Iterator[Path]:
    # Short: PostgreSQL's Unix socket lives in the data dir and socket paths are limited to 107 bytes.
    path = Path(f"/tmp/jps-bench-{uuid.uuid4().hex[:8]}")
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_four_groups_from_import_to_completed_against_the_skeleton(data_dir: Path, tmp_path: Path) -> None:
    config = BenchConfig(
        groups=4,
        officers=4,
        workers=1,
        readers=1,
        probe_per_endpoint=5,
        dashboard_runs=1,
        skeleton_concurrency=4,
        idle_poll_s=0.5,
        out=tmp_path,
        data_dir=data_dir,
        timeout_s=120,
        paced_rate=2,
        paced_seconds=3,
        paced_reads_per_s=2,
        capacity_steps=(1.0, 2.0),
        step_seconds=2,
        wage_weeks=2,  # the built-in work period: a short run (the bench's default is four weeks)
    )
    result, path = run_bench(config)

    written = json.loads(path.read_text())
    assert path.parent == tmp_path and written["groups"] == 4
    missing = [k for k in REQUIRED if k not in written]
    assert not missing, f"results lack {missing}"

    assert result["finished"] and result["completed"] == 4
    assert result["people"] == 80 and result["programs"] == {"tkm": 3, "padat_karya": 1}
    assert result["import"]["groups"] == 4 and result["import"]["rows"] == 80
    assert result["wall_s"] > 0 and result["groups_per_s"] > 0
    assert result["skeleton"]["groups"] == 4 and result["skeleton"]["failed"] == 0
    assert result["skeleton_groups_per_s"] > 0 and result["ratio"] > 0
    # Every single-group action and bulk decision was accepted, whichever phase sent it; each step
    # of each group was done once and nothing failed on the way.
    assert _done(result, "record-attendance") == 4
    assert _done(result, "report-visit") == 3 * 3 + 1  # TKM 3 visits, Padat Karya its handover
    # The Padat Karya group was paid by muster rolls (docs/wages.md), not a lump sum: two weeks of five
    # workdays, a worksite photo a day, each week's roll submitted and its wage run released once;
    # every worker on site that week paid their days × rate, the whole Rp 10,000,000 drawn.
    assert _done(result, "upload-photo") == 10
    assert _done(result, "submit-muster") == 2 and _done(result, "approve-wages") == 2
    rows = result["postgres"]["rows"]
    assert (rows["muster_rolls"], rows["muster_entries"], rows["wage_lines"]) == (2, 10 * 9, 2 * 20)
    assert rows["payments"] == 3 + 2 * 20  # TKM one transfer a group; Padat Karya one a worker a week
    # Each TKM group's LPJ: a receipt uploaded per line (two lines), submitted once, accepted once.
    assert _done(result, "upload-file") == 3 * 2
    assert _done(result, "submit-lpj") == 3 and _done(result, "review-lpj") == 3
    for statuses in (
        result["statuses"],
        result["paced"]["statuses"],
        result["bulk_approve"]["statuses"],
        *(step["statuses"] for step in result["capacity_steps"]),
    ):
        refused = [s for s, n in statuses.items() if "inbox" not in s and not s.endswith((":200", ":201"))]
        assert not refused, statuses
    assert not result["load_phase_errors"]
    assert 0 < result["action_p50_ms"] <= result["action_p95_ms"] <= result["action_p99_ms"]
    for endpoint in ("list", "detail", "inbox", "summary"):
        assert result["reads_at_rest"][endpoint]["n"] == 5
        assert result["reads_at_rest"][endpoint]["p99_ms"] > 0
    # The skeleton did per group what a real group's history shows.
    plans = result["skeleton"]["plans"]
    # (a Padat Karya group: the bank's callbacks of each week's wage batch, one signal a week)
    tkm = plans["tkm"]
    assert tkm["activities"] + tkm["local_activities"] >= tkm["updates"] >= 5
    assert tkm["local_activities"] > 0  # the steps are recorded as local activities (smaller-history-v1)
    assert plans["padat_karya"]["signals"] == 2
    assert result["temporal"]["history_events_per_group"] > 50
    # Processes were measured and the data reached PostgreSQL.
    assert 0 < result["worker_peak_mb"] < 2000
    assert result["processes"]["temporal"]["cpu_s"] > 0 and result["processes"]["api"]["cpu_s"] > 0
    assert result["postgres"]["rows"]["groups"] == 4 and result["postgres"]["rows"]["members"] == 80
    assert result["final_stages"] == {"completed": 4}
    assert result["machine"]["cores"] >= 1
    # The dashboard drew its charts over the cohort in Chromium (make test installs it)
    assert result["dashboard"]["charts"] >= 3 and 0 < result["dashboard_render_ms"] < 60_000, result[
        "dashboard"
    ]
    # Import on a quiet stack: dry run, import, and bare Temporal's registration of as many workflows.
    assert result["import_dry_run_s"] > 0 and result["import_quiet_s"] > 0 and result["import_limit_s"] > 0
    assert result["import_quiet"]["rows"] == 80 and result["import_quiet"]["limit_failed"] == 0
    # Human pace and the capacity curve: figures, not targets.
    assert result["paced_actions_per_s"] >= 0 and result["paced"]["read"]["n"] > 0
    assert result["paced_read_p99_ms"] >= result["paced_read_p50_ms"] > 0
    curve = result["capacity_curve"]
    assert curve and [s["rate"] for s in curve] == sorted({s["rate"] for s in curve})
    assert all(s["p99_ms"] >= s["p50_ms"] for s in curve if s["n"])
    assert result["capacity_actions_per_s"] in (0, *(s["rate"] for s in curve))
    assert result["officers_served"] == round(result["capacity_actions_per_s"] * 30)
    # Every group waiting for its disbursement was approved in bulk, in requests of the API's maximum.
    bulk = result["bulk_approve"]
    assert bulk["groups"] == result["groups"] and bulk["requests"] == 1 and result["bulk_approve_s"] > 0
    assert bulk["statuses"].get("approve-disbursement[item]:200", 0) == bulk["groups"]
    # Cost: the product's processes and the skeleton's, a group's history per programme.
    assert result["product_cpu_ms_per_group"] > 0 and result["skeleton_cpu_ms_per_group"] > 0
    assert result["cpu_ratio"] > 0
    assert set(result["product_cpu_ms_by_process"]) == {"worker1", "temporal", "api", "postgres"}
    assert set(result["history_events_per_group"]) == {"tkm", "padat_karya"}
    assert all(v > 50 for v in result["history_events_per_group"].values())
    assert all(v > 1000 for v in result["history_bytes_per_group"].values())
    # The stack is gone and its data with it.
    assert not data_dir.exists()
