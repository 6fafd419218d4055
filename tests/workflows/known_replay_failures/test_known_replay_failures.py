"""Histories the live worker wrote and no replay can follow: kept so that the day an SDK upgrade
replays one, its test fails and says so (then move the history to tests/histories and drop the
README's caveat).

`PK-3578-IDNTZ6OCGR`, from a `make chaos` run on 2026-11-30 (main at fed2d35): Temporal went down at
09:13:31 while the worker was inside a workflow task (a weekly wage batch's result: the step
`wages_partly_paid` recorded by the local activity `record_step`, seq 25, complete at 09:13:31.7).
The task's completion never reached the server. When the server came back it handed the task out
again, now carrying an officer's `update-bank-account` sent in between, and the worker answered it
as if the batch's result had been applied first: the update passed its validator (the
`fix_wage_account` task that result opened) and recorded `bank_account_updated` (local activity 26,
in the same activation as 25). Its marker for 25 keeps the lost attempt's completion time, 14 s
before its recorded schedule time.

Replay delivers the two signals, the update and the activity's result in one activation and runs the
update's validator first, before the result opens the task: the update is refused there, so local
activity 26 has no command ("Missing associated machine for LocalActivity(26)"). No change to the
workflow code can make the history replay (the validator's answer is fixed by the history). The
group's remedy is the reset in docs/disbursement.md ("Resetting a group safely"), which the workers'
sweep does on its own (tools/replay_reset.py): to the lost task itself (event 120), taken again;
nothing was paid twice.
"""

from __future__ import annotations

from pathlib import Path

from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from jps.sealing import PayloadKeys, sealed_converter
from worker import WORKFLOWS

HERE = Path(__file__).resolve().parent


async def _replay_failure(name: str) -> str:
    """The replay's failure of the kept history `name`, opened with its own throwaway key."""
    history = WorkflowHistory.from_json(name, (HERE / f"{name}.history.json").read_text())
    keys = PayloadKeys.parse((HERE / f"{name}.payload.keys").read_text())
    replayer = Replayer(workflows=WORKFLOWS, data_converter=sealed_converter(keys))
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is not None, "it replays now: move it to tests/histories (see above)"
    return str(result.replay_failure)


async def test_the_lost_task_after_a_temporal_restart_still_does_not_replay() -> None:
    failure = await _replay_failure("PK-3578-IDNTZ6OCGR")
    assert "Missing associated machine for LocalActivity(26)" in failure


async def test_a_lost_sticky_task_then_a_timer_and_an_update_in_one_activation_does_not_replay() -> None:
    """`PK-3671-GAXPMYLTUZ`, from a `make chaos` run on 2026-11-30 (main at 664b0e0). A worker was
    killed with the group's next task on its sticky queue: the task (a 2 s wait's timer, event 122)
    timed out unstarted (124) and went to a fresh worker, which got it with an officer's
    `update-bank-account` sent meanwhile. Live, the update's two local activities (seq 23, 24) ran
    before the timer's bank ask (seq 25, a list of transfer statuses). Replay issues them in another
    order, so a `record_step` (a `RecordedStep`) is handed the ask's list ("Failed decoding
    arguments"). Nothing was paid twice; `jps stuck-workflows` lists the group; the remedy is the
    reset in docs/disbursement.md, which the workers' sweep does on its own: to the task that reached
    the fresh worker (event 127), taken again. Like the case above, the
    history fixes the order: no workflow change can make it replay. Upstream it looks like
    temporalio/sdk-python#1591 (open: an update handled on a cold start writes a history that does
    not replay); temporalio 1.35.0 still runs activations in its legacy multi-batch order (the
    single-batch flag, which the TypeScript SDK adopted for this kind of bug, is not on by default).

    Looked at again on 2026-11-30: the flag would not save this history. Replay hands the update and
    the timer to the worker in ONE activation, and under either order the update's handler is
    scheduled before the timer's waiter wakes, so its `record_step` takes seq 23; live, seq 23 is the
    ask, so the live worker saw the timer in an activation of its own and the update after. The
    activations differ between live and replay (the SDK core's doing), not their order inside one.
    A reproduction on the dev server (a worker killed with a timer's task on its sticky queue, an
    update sent once that task timed out, a fresh worker) gave one activation live as in replay, and
    replayed: the split seen live needs a timing this did not hit."""
    failure = await _replay_failure("PK-3671-GAXPMYLTUZ")  # its messages are sealed, their types not
    assert 'r#type: "RuntimeError"' in failure and 'r#type: "ValidationError"' in failure, failure[:500]


async def test_the_same_race_flagged_as_an_unhandled_failure_still_does_not_replay() -> None:
    """`PK-6471-HINWQFB2JK`, from a `make chaos` run on 2026-11-30 (main at dc86906): the race above
    again (the 2 s wait's timer fired at event 75, its task timed out on the killed worker's sticky
    queue at 77, the fresh worker's task 79-80 carried an officer's `update-bank-account`). Temporal
    flagged it `cause=WorkflowTaskFailedCauseWorkflowWorkerUnhandledFailure`, not as a
    non-determinism: replay hands a step the ask's answer and decoding it raises inside the workflow.
    The workers' sweep resets it to event 80 (tests/test_replay_reset.py)."""
    failure = await _replay_failure("PK-6471-HINWQFB2JK")
    assert 'r#type: "RuntimeError"' in failure, failure[:500]
