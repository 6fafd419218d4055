"""The bench machinery end to end at a tiny scale: its own stack on free ports, four groups imported
and driven to completed by simulated officers through the HTTP API (the TKM groups' LPJs included),
the skeleton on the same dev server, and a results file with every figure the README table and
DESIGN.md name.

A behaviour test, not a timing assertion: the figures must exist and be sane, not fast."""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

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
    # Every single-group action and bulk decision was accepted; nothing failed on the way.
    assert result["actions"]["record-attendance"]["n"] == 4
    assert result["actions"]["report-visit"]["n"] == 3 * 3 + 5  # TKM 3 visits, Padat Karya 5
    # Each TKM group's LPJ: a receipt uploaded per line (two lines), submitted once, accepted once.
    assert result["actions"]["upload-file"]["n"] == 3 * 2
    assert result["actions"]["submit-lpj"]["n"] == 3 and result["actions"]["review-lpj"]["n"] == 3
    assert result["statuses"]["upload-file:201"] == 3 * 2
    assert all(
        s.endswith(":200")
        for s in result["statuses"]
        if "[item]" not in s and "inbox" not in s and s != "upload-file:201"
    )
    assert 0 < result["action_p50_ms"] <= result["action_p95_ms"] <= result["action_p99_ms"]
    for endpoint in ("list", "detail", "inbox", "summary"):
        assert result["reads_at_rest"][endpoint]["n"] == 5
        assert result["reads_at_rest"][endpoint]["p99_ms"] > 0
    # The skeleton did per group what a real group's history shows.
    plans = result["skeleton"]["plans"]
    assert (
        plans["tkm"]["activities"] >= plans["tkm"]["updates"] >= 5 and plans["padat_karya"]["signals"] == 20
    )
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
    # The stack is gone and its data with it.
    assert not data_dir.exists()
