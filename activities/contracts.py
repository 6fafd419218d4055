"""Inputs and results of the activities the lifecycle workflow calls (one object each)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from activities.bank_client import TransferSpec


class BudgetRequest(BaseModel):
    group_id: str
    program: str
    region_code: str
    amount: int
    attempt: int = Field(description="Payment attempt; the reservation id is group_id:attempt")

    @property
    def reservation_id(self) -> str:
        return f"{self.group_id}:{self.attempt}"


class BudgetResult(BaseModel):
    reserved: bool
    frozen: bool = Field(False, description="Disbursements are frozen for this programme or region")
    reservation_id: str
    allocation_region: str | None = Field(None, description="The allocation drawn on (regency or province)")
    reason: str = ""


class FreezeStatus(BaseModel):
    frozen: bool
    reason: str = ""


class PaymentBatch(BaseModel):
    group_id: str
    batch_id: str
    attempt: int
    transfers: list[TransferSpec]
