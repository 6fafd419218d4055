"""The budget (anggaran) as officers see and set it: allocations per programme and region, and
disbursement freezes."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import Reason
from jps.domain.programs import Program

REGION_PATTERN = r"^\d{2}(\d{2})?$"


class AllocationOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "program": "tkm",
                    "region_code": "31",
                    "amount": 5_000_000_000,
                    "reserved": 20_000_000,
                    "spent": 130_000_000,
                    "available": 4_850_000_000,
                }
            ]
        }
    )
    program: Program
    region_code: str = Field(description="2-digit province or 4-digit regency; the most specific one pays")
    amount: int
    reserved: int
    spent: int
    available: int


class AllocationIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"amount": 5_000_000_000, "reason": "DIPA 2020 revisi 2"}]},
    )
    # Bounded (Rp 100 trillion, far above any budget line) so that it and the sums over it
    # stay inside PostgreSQL's bigint: beyond it a 422 naming the field, never a 500.
    amount: int = Field(
        ge=0, le=10**14, description="Whole rupiah; not below what is already reserved and spent"
    )
    reason: Reason


class FreezeIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"program": None, "region_code": "31", "reason": "Pilkada 2020"}]},
    )
    program: Program | None = Field(None, description="null: every programme")
    region_code: str | None = Field(None, pattern=REGION_PATTERN, description="null: the whole country")
    reason: Reason


class LiftIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"reason": "audit closed"}]})
    reason: Reason


class FreezeOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "freeze_id": 1,
                    "program": None,
                    "region_code": "31",
                    "reason": "Pilkada 2020",
                    "frozen_by": "supervisor-1",
                    "frozen_at": "2020-11-20T02:00:00Z",
                    "lifted_by": None,
                    "lifted_at": None,
                }
            ]
        }
    )
    freeze_id: int
    program: Program | None
    region_code: str | None
    reason: str
    frozen_by: str
    frozen_at: datetime
    lifted_by: str | None
    lifted_at: datetime | None
