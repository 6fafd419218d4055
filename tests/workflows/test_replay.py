"""Every recorded history under tests/histories/ replays against the current workflow code.

A change to the lifecycle's command sequence that is not guarded by `workflow.patched` fails here
with a non-determinism error. Record new histories for new paths with
`JPS_RECORD_HISTORIES=tests/histories pytest tests/workflows -k <test>`; never delete old ones while
workflows of that shape may still be running in production.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from tests.conftest import SEALING_CONVERTER
from worker import WORKFLOWS

HISTORIES = Path(__file__).resolve().parent.parent / "histories"
FILES = sorted(HISTORIES.glob("*.json"))
HISTORY_TEXT = {p: p.read_text() for p in FILES}


def _programme(path: Path) -> str | None:
    """The programme of a plain history's group; None for a sealed one (recorded since the payload
    codec: its input is ciphertext, and its replay below proves it opens)."""
    started = json.loads(path.read_text())["events"][0]
    assert started["eventType"] == "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED"
    payload = started["workflowExecutionStartedEventAttributes"]["input"]["payloads"][0]
    encoding = base64.b64decode(payload.get("metadata", {}).get("encoding", "")).decode()
    if encoding == "binary/encrypted":
        return None
    program: str = json.loads(base64.b64decode(payload["data"]))["proposal"]["program"]
    return program


def test_both_programmes_have_recorded_histories() -> None:
    assert {"tkm", "padat_karya"} <= {_programme(p) for p in FILES}
    assert len(FILES) >= 8


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
async def test_recorded_history_replays(path: Path) -> None:
    history = WorkflowHistory.from_json(path.stem, HISTORY_TEXT[path])
    replayer = Replayer(workflows=WORKFLOWS, data_converter=SEALING_CONVERTER)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None
