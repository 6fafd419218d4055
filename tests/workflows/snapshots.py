"""The check behind workflows/restore.py's Snapshot: a state rebuilt from its snapshot equals it, put
back in place over a changed state too. The lifecycle tests' harnesses run it on every state they
query, and the grievance tests on every grievance state, so it covers the states of every scenario
they drive."""

from __future__ import annotations

from jps.contracts.grievances import GrievanceState
from jps.contracts.workflow import GroupState
from workflows.restore import Snapshot


def assert_snapshot_restores(state: GroupState) -> None:
    snapshot = Snapshot(state)
    changed = state.model_copy(deep=True)
    changed.seq += 1
    changed.payments.clear()
    changed.runtime.payments.bank_results.clear()
    snapshot.restore(changed)
    assert changed == state


def assert_grievance_snapshot_restores(state: GrievanceState) -> None:
    snapshot = Snapshot(state)
    changed = state.model_copy(deep=True)
    changed.seq += 1
    if changed.task is not None:  # nested: put back in place, the model the task board holds
        changed.task.roles.clear()
        changed.task.escalation_level += 1
    changed.bank = None
    changed.reason = "changed"
    snapshot.restore(changed)
    assert changed == state
