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
    reservation_id: str
    allocation_region: str | None = Field(None, description="The allocation drawn on (regency or province)")
    reason: str = ""


class FreezeStatus(BaseModel):
    frozen: bool
    reason: str = ""


class SettleRequest(BaseModel):
    reservation_id: str
    paid_amount: int = Field(ge=0, description="What the bank paid; the rest of the reservation is released")


class PaymentBatch(BaseModel):
    group_id: str
    batch_id: str
    attempt: int
    transfers: list[TransferSpec]
