"""A group's timeline (riwayat), the audit log's rows and its chain check."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from api.schemas.common import example_config, example_of
from jps.domain.stages import Stage


class HistoryEventOut(BaseModel):
    model_config = example_config(
        at="2020-09-02T03:00:00Z",
        event="verification_approved",
        stage="training",
        officer="verifier-1",
        reason="documents complete",
        details={"from_stage": "verification"},
    )
    at: datetime
    event: str
    stage: Stage | None = None
    officer: str | None = Field(None, description="The acting officer's id (token sub); null when automated")
    reason: str = ""
    details: dict[str, Any] = Field(default_factory=dict)


class HistoryOut(BaseModel):
    model_config = example_config(
        group_id="TKM-3171-AB12CD34EF",
        source="temporal",
        temporal_ui_url="http://127.0.0.1:8233/namespaces/default/workflows/TKM-3171-AB12CD34EF",
        events=[example_of(HistoryEventOut)],
    )
    group_id: str
    source: Literal["temporal", "audit_log"] = Field(
        description=(
            "temporal: the workflow's event history; audit_log: history expired, read from the audit table"
        )
    )
    temporal_ui_url: str | None = Field(
        None, description="The group in the Temporal UI: for auditors only (null for other officers)"
    )
    events: list[HistoryEventOut]


class AuditRowOut(BaseModel):
    model_config = example_config(
        id=42,
        group_id="TKM-3171-AB12CD34EF",
        seq=3,
        at="2020-09-02T03:00:00Z",
        actor="verifier-1",
        actor_roles=["verifier"],
        event="verification_approved",
        stage="training",
        reason="",
        details={},
        prev_hash="9f2c…",
        hash="4be1…",
    )
    id: int
    group_id: str | None
    seq: int | None
    at: datetime
    actor: str | None
    actor_roles: list[str]
    event: str
    stage: str | None
    reason: str
    details: dict[str, Any]
    prev_hash: str
    hash: str


class AuditVerifyOut(BaseModel):
    model_config = example_config(valid=True, rows=1234, broken_at_id=None, problem=None)
    valid: bool
    rows: int = Field(description="Rows checked before the end of the chain or the first break")
    broken_at_id: int | None = None
    problem: str | None = None
