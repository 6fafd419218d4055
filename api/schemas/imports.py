"""Submissions, imports and bulk work: a result per line of a file, per import job, per group of a
bulk action."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from api.schemas.common import example_config, example_of
from jps.domain.stages import Stage


class RowResult(BaseModel):
    """One line of an import file: what happened to it, and for a refusal the field and the reason."""

    model_config = example_config(
        row=7,
        group_ref="G-0001",
        status="invalid",
        group_id=None,
        field="members.3.nik",
        reason="NIK birth date part (DDMMYY, DD+40 for women) is not a valid date",
    )
    row: int = Field(description="1-based line number in the file, the header being line 1")
    group_ref: str
    status: Literal["valid", "created", "existing", "invalid", "conflict", "failed"]
    group_id: str | None = None
    field: str | None = None
    reason: str = ""


class ImportJobOut(BaseModel):
    """An import: counts so far and every row's result once known."""

    model_config = example_config(
        job_id="imp-5f2c1a",
        status="done",
        dry_run=False,
        filename="kelompok.csv",
        rows=40,
        groups=2,
        processed_groups=2,
        created=2,
        existing=0,
        invalid_rows=0,
        conflicts=0,
        failed=0,
        started_at="2020-09-01T02:00:00Z",
        finished_at="2020-09-01T02:00:03Z",
        results=[],
    )
    job_id: str
    status: Literal["running", "done", "failed"]
    dry_run: bool
    filename: str
    rows: int = Field(description="Data rows in the file (one per member)")
    groups: int = Field(description="Groups found in the file")
    processed_groups: int
    created: int = 0
    existing: int = Field(0, description="Already imported before (same file and group_ref): nothing new")
    invalid_rows: int = 0
    conflicts: int = Field(0, description="Groups refused because a NIK is in another active group")
    failed: int = 0
    started_at: datetime
    finished_at: datetime | None = None
    error: str | None = None
    results: list[RowResult] = Field(default_factory=list)


class BulkItemOut(BaseModel):
    model_config = example_config(group_id="TKM-3171-AB12CD34EF", status=200, stage="training", detail=None)
    group_id: str
    status: int = Field(description="The HTTP status the single action would have answered")
    stage: Stage | None = None
    detail: str | list[dict[str, Any]] | None = None


class BulkOut(BaseModel):
    model_config = example_config(
        action="verify",
        succeeded=1,
        failed=0,
        results=[example_of(BulkItemOut)],
    )
    action: str
    succeeded: int
    failed: int
    results: list[BulkItemOut]
