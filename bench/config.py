"""What a bench run is asked to do (`jps bench`'s options) and the names every phase shares."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console

from jps.settings import PROJECT_ROOT

RESULTS_DIR = PROJECT_ROOT / "bench" / "results"
REGISTRAR_ID = "bench-registrar"
TERMINAL = ("completed", "rejected", "cancelled")
COHORT_GROUPS = 3076  # the October 2020 cohort: scale 1


@dataclass
class BenchConfig:
    scale: float = 1.0
    officers: int = 50
    workers: int = 1
    out: Path | None = None
    groups: int | None = None  # overrides scale: this many groups in the cohort's proportion
    seconds_per_day: float = 60.0
    bank_poll_after_s: float = 30.0
    # A Padat Karya group's work period in weeks: its planned workdays are five a week, each week a
    # roll and a wage run (issue 15's history target is for four weekly runs).
    wage_weeks: int = 4
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
    # Officers at a human pace (bench.paced), the capacity curve (bench.capacity), the bulk approval.
    officers_at_pace: int = 500  # each acting about every 30 s: 500/30 actions a second, times the scale
    paced_rate: float | None = None  # actions a second [officers_at_pace / 30 × scale]; 0: no paced phase
    paced_seconds: float | None = None  # [60 s × scale, 10 to 60 s]
    paced_reads_per_s: float | None = None  # [half the action rate, at least 1]
    capacity_steps: tuple[float, ...] = (5.0, 10.0, 20.0, 30.0, 45.0, 60.0)  # (): no capacity curve
    step_seconds: float | None = None  # each capacity step [45 s × scale, 5 to 45 s]
    bulk: bool = True  # the bulk approval phase
    console: Console = field(default_factory=lambda: Console(stderr=True))

    def effective_scale(self, n_groups: int) -> float:
        return self.scale if self.groups is None else round(n_groups / COHORT_GROUPS, 5)
