"""The layer check (import-linter, contracts in pyproject.toml) passes on the tree and fails when an
import runs upward: proven on a copy of the tree with one upward import added."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
import tomllib
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
        ("activities/ledger.py", "import simulators.bank"),  # the product imports a stand-in
    ],
)
def test_an_upward_import_breaks_the_check(tmp_path: Path, module: str, upward: str) -> None:
    _copy_tree(tmp_path)
    path = tmp_path / module
    path.write_text(path.read_text() + f"\n{upward}  # injected by the test\n")
    result = _lint(tmp_path)
    assert result.returncode != 0
    assert "BROKEN" in result.stdout or "broken" in result.stdout


def test_the_simulators_contract_names_every_adapter_but_http() -> None:
    """The simulators may use the HTTP adapter only: a new infra module must join their forbidden list."""
    config = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())
    contracts = config["tool"]["importlinter"]["contracts"]
    [sims] = [c for c in contracts if c.get("source_modules") == ["simulators"]]
    adapters = {f"infra.{p.stem}" for p in (PROJECT_ROOT / "infra").glob("*.py") if p.stem != "__init__"}
    assert adapters - {"infra.http"} <= set(sims["forbidden_modules"])


ALLOWED_FROM_ACTIVITIES = re.compile(r"^[A-Z]\w*Activities$")


def test_workflows_import_only_activity_classes() -> None:
    """Workflows import an activity module only for its class, to call it through a typed reference
    (execute_activity_method); the layer contract lets them (allow_indirect_imports), this keeps it
    at the classes: no helper function or client of an activity module runs inside a workflow."""
    offending = []
    for path in (PROJECT_ROOT / "workflows").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("activities"):
                offending += [
                    f"{path.name}: {a.name}" for a in node.names if not ALLOWED_FROM_ACTIVITIES.match(a.name)
                ]
            elif isinstance(node, ast.Import):
                offending += [f"{path.name}: {a.name}" for a in node.names if a.name.startswith("activities")]
    assert offending == []
