"""The answer to the bank gateway's callback."""

from __future__ import annotations

from pydantic import BaseModel

from api.schemas.common import example_config


class PaymentCallbackOut(BaseModel):
    model_config = example_config(
        transfer_id="TKM-3171-AB12CD34EF-1", group_id="TKM-3171-AB12CD34EF", accepted=True
    )
    transfer_id: str
    group_id: str
    accepted: bool
