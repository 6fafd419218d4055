"""Every recorded history of the post-payment verification's workflows (tests/histories/verification/,
a folder of their own) replays against the current code: a change to their command sequence not
guarded by `workflow.patched` fails here. Record them again with
`JPS_RECORD_HISTORIES=tests/histories/verification pytest tests/workflows/verification` (under new
names while checks of the old shape may still be open)."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from tests.conftest import SEALING_CONVERTER
from worker import WORKFLOWS

HISTORIES = Path(__file__).resolve().parents[2] / "histories" / "verification"
FILES = sorted(HISTORIES.glob("*.json"))
HISTORY_TEXT = {p: p.read_text() for p in FILES}


def test_there_are_recorded_verification_histories() -> None:
    assert len(FILES) >= 4


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
async def test_recorded_verification_history_replays(path: Path) -> None:
    history = WorkflowHistory.from_json(path.stem, HISTORY_TEXT[path])
    replayer = Replayer(workflows=WORKFLOWS, data_converter=SEALING_CONVERTER)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None
