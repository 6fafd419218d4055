"""Recorded steps as the workflow hands them to `record_transition`, for the activity-level tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from jps.contracts.activities import TransitionRecord
from jps.domain.models import GroupSummary, Proposal
from jps.domain.stages import Stage
from tests import factories


def step(
    group_id: str,
    seq: int,
    *,
    stage: Stage = Stage.VERIFICATION,
    from_stage: Stage | None = None,
    proposal: Proposal | None = None,
    run_id: str = "",
    event: str = "test_step",
    notify: tuple[str, ...] = (),
    at: datetime | None = None,
    **details: Any,
) -> TransitionRecord:
    """Step `seq` of a TKM group in `stage`; the first step carries the proposal (the members)."""
    p = proposal or factories.proposal(name=f"Kelompok {group_id[-4:]}", size=10)
    when = at or datetime.now(UTC)
    state = GroupSummary(
        group_id=group_id,
        program=p.program,
        name=p.name,
        region_code=p.region_code,
        stage=stage,
        submitted_by="registrar-1",
        submitted_at=when - timedelta(days=1),
        requested_amount=p.requested_amount,
        seq=seq,
    )
    return TransitionRecord(
        group_id=group_id,
        seq=seq,
        at=when,
        event=event,
        stage=stage,
        from_stage=from_stage,
        officer="officer-1",
        details=details,
        notify=list(notify),
        run_id=run_id,
        state=state,
        proposal=p if seq == 1 or proposal is not None else None,
    )
