"""Every recorded grievance history (tests/histories/grievance/, a folder of the type's own, as
docs/architecture.md's versioning decision says) replays against the current GrievanceWorkflow: a
change to its command sequence not guarded by `workflow.patched` fails here. Record them again with
`JPS_RECORD_HISTORIES=tests/histories/grievance pytest tests/workflows/grievance` (under new names
while cases of the old shape may still be open)."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from tests.conftest import SEALING_CONVERTER
from worker import WORKFLOWS

HISTORIES = Path(__file__).resolve().parents[2] / "histories" / "grievance"
FILES = sorted(HISTORIES.glob("*.json"))
HISTORY_TEXT = {p: p.read_text() for p in FILES}


def test_there_are_recorded_grievance_histories() -> None:
    assert len(FILES) >= 3


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
async def test_recorded_grievance_history_replays(path: Path) -> None:
    history = WorkflowHistory.from_json(path.stem, HISTORY_TEXT[path])
    replayer = Replayer(workflows=WORKFLOWS, data_converter=SEALING_CONVERTER)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None
