"""The layer check (import-linter, contracts in pyproject.toml) passes on the tree and fails when an
import runs upward: proven on a copy of the tree with one upward import added."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from jps.settings import PROJECT_ROOT

PACKAGES = ("jps", "infra", "workflows", "activities", "api", "tools", "bench", "simulators")
LINT_IMPORTS = str(Path(sys.executable).parent / "lint-imports")


def _copy_tree(dest: Path) -> None:
    for name in PACKAGES:
        shutil.copytree(
            PROJECT_ROOT / name, dest / name, ignore=shutil.ignore_patterns("__pycache__", "results")
        )
    shutil.copy(PROJECT_ROOT / "pyproject.toml", dest / "pyproject.toml")


def _lint(cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LINT_IMPORTS, "--no-cache"], cwd=cwd, env={"PYTHONPATH": str(cwd)}, capture_output=True, text=True
    )


def test_the_tree_keeps_its_layers(tmp_path: Path) -> None:
    _copy_tree(tmp_path)
    result = _lint(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("module", "upward"),
    [
        ("jps/domain/roles.py", "import infra.db"),  # the core imports an adapter
        ("infra/http.py", "import activities.ledger"),  # an adapter imports an activity
        ("api/errors.py", "import activities.ledger"),  # the API skips Temporal
        ("workflows/maintenance.py", "import infra.db"),  # a workflow does I/O
        ("activities/ledger.py", "import api.errors"),  # an activity imports the API
    ],
)
def test_an_upward_import_breaks_the_check(tmp_path: Path, module: str, upward: str) -> None:
    _copy_tree(tmp_path)
    path = tmp_path / module
    path.write_text(path.read_text() + f"\n{upward}  # injected by the test\n")
    result = _lint(tmp_path)
    assert result.returncode != 0
    assert "BROKEN" in result.stdout or "broken" in result.stdout
