"""What a bench run is asked to do (`jps bench`'s options) and the names every phase shares."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console

from jps.settings import PROJECT_ROOT

RESULTS_DIR = PROJECT_ROOT / "bench" / "results"
REGISTRAR_ID = "bench-registrar"
TERMINAL = ("completed", "rejected", "cancelled")


@dataclass
class BenchConfig:
    scale: float = 1.0
    officers: int = 50
    workers: int = 1
    out: Path | None = None
    groups: int | None = None  # overrides scale: this many groups in the cohort's proportion
    seconds_per_day: float = 60.0
    bank_poll_after_s: float = 30.0
    skeleton_groups: int | None = None  # default: as many as the lifecycle ran
    skeleton_concurrency: int = 200
    readers: int = 2
    idle_poll_s: float = 5.0  # an officer with an empty inbox looks again after this long
    probe_per_endpoint: int = 100
    dashboard_runs: int = 5  # loads of /dasbor in Chromium after the first (bench.dashboard)
    timeout_s: float = 3600.0
    data_dir: Path | None = None
    keep_data: bool = False
    log_level: str = "INFO"
    # None: the stack's processes inherit PYTHONDONTWRITEBYTECODE; True: they may cache bytecode.
    # It matters: the workflow sandbox re-imports the workflow module for every workflow instance.
    write_bytecode: bool | None = None
    console: Console = field(default_factory=lambda: Console(stderr=True))
