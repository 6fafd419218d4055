"""The group lifecycle workflow's one input."""

from __future__ import annotations

from pydantic import BaseModel

from jps.domain.models import Proposal
from jps.domain.programs import ProgramPolicy


class GroupInput(BaseModel):
    """The workflow's one input. The proposal travels here because validators need the members; the
    policy in force at submission travels with it, so a later policy change never rewrites a running
    group's rules."""

    group_id: str
    proposal: Proposal
    policy: ProgramPolicy
    submitted_by: str
    request_hash: str = ""
