"""Reconciliation mismatches (selisih rekonsiliasi) as finance and auditors read them, and how finance
resolves one."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from jps.contracts.activities import MismatchKind
from jps.domain.programs import Program

Resolution = Literal["explained", "ledger_corrected", "bank_corrected", "recovered", "written_off"]
RESOLUTIONS: tuple[Resolution, ...] = (
    "explained",
    "ledger_corrected",
    "bank_corrected",
    "recovered",
    "written_off",
)
MismatchStatus = Literal["open", "resolved"]

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class MismatchOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 7,
                    "transfer_id": "TKM-3171-AB12CD34EF-A1-01",
                    "kind": "amount_differs",
                    "status": "open",
                    "group_id": "TKM-3171-AB12CD34EF",
                    "group_name": "Kelompok Usaha Maju Jaya",
                    "program": "tkm",
                    "region_code": "3171",
                    "ours": {
                        "status": "paid",
                        "amount": 10_000_000,
                        "instructed_at": "2020-10-02T03:00:00+00:00",
                    },
                    "bank": {"status": "paid", "amount": 10_001_000, "paid_at": "2020-10-02T03:00:05+00:00"},
                    "found_at": "2020-10-02T20:00:03+00:00",
                    "run_id": "jps-reconciliation-2020-10-02T20:00:00Z",
                    "last_seen_at": "2020-10-03T20:00:02+00:00",
                    "last_run_id": "jps-reconciliation-2020-10-03T20:00:00Z",
                    "resolution": None,
                    "resolved_by": None,
                    "resolved_at": None,
                    "resolution_reason": "",
                }
            ]
        }
    )
    id: int
    transfer_id: str
    kind: MismatchKind
    status: MismatchStatus
    group_id: str | None = Field(description="None: the bank paid a transfer we have no row for")
    group_name: str | None
    program: Program | None
    region_code: str | None = Field(description="The group's region; None without a group (national only)")
    ours: dict[str, Any] | None = Field(description="Our row: status, amount, instructed_at")
    bank: dict[str, Any] | None = Field(description="The bank's word: status, amount, paid_at")
    found_at: datetime = Field(description="When a run first found it")
    run_id: str = Field(description="The run that first found it")
    last_seen_at: datetime = Field(description="When a run last found it")
    last_run_id: str
    resolution: Resolution | None
    resolved_by: str | None
    resolved_at: datetime | None
    resolution_reason: str


class MismatchResolveIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={
            "examples": [
                {"resolution": "bank_corrected", "reason": "Bank corrected its statement, ref 2020/10/117"}
            ]
        },
    )
    resolution: Resolution = Field(
        description="explained (no money moved wrongly), ledger_corrected (our records were put right), "
        "bank_corrected (the bank put its records right), recovered (money paid wrongly came back), "
        "written_off (a difference accepted, with the reason)"
    )
    reason: str = Field(min_length=3, max_length=2000)

    @field_validator("reason")
    @classmethod
    def _no_control_characters(cls, v: str) -> str:
        if _CONTROL.search(v):
            raise ValueError("control characters are not allowed")
        return v
