"""A bank's error text never becomes the reason shown, audited or sent to the group leader: where it
enters (the bank client's answers and refusals, the callback route) it becomes a reason code; the
text goes to the log only."""

from __future__ import annotations

import pytest

from activities.bank_client import BankRejectedError, TransferResponse
from activities.payments import _final, _refused
from activities.transfers import from_bank, unknown
from jps.contracts.activities import BANK_REASONS, bank_reason

LEAKY = "ORA-00942 at core-banking-7.internal (10.20.30.40): rekening 3171010101900001 tidak aktif"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", ""),
        ("account_closed", "account_closed"),
        ("beneficiary_bank_unavailable", "beneficiary_bank_unavailable"),
        ("Account CLOSED by the customer", "account_closed"),
        ("bank answered 503 to POST http://10.0.0.7:8100/transfers: upstream down", "bank_unavailable"),
        ("the bank's status did not answer: ReadTimeout", "timeout"),
        ("bank answered 422 to POST http://bank/transfers: duplicate reference", "duplicate"),
        ("bank answered 400 to POST http://bank/transfers: holder name mismatch", "refused"),
        (LEAKY, "other"),
    ],
)
def test_bank_text_to_reason_code(text: str, code: str) -> None:
    assert bank_reason(text) == code
    assert code == "" or code in BANK_REASONS


def test_the_bank_text_stops_where_it_enters() -> None:
    answered = TransferResponse(transfer_id="T-1", status="failed", reason=LEAKY, permanent=True)
    assert from_bank("T-1", answered).reason == "other"
    final = _final(answered)
    assert final is not None and final.reason == "other"
    refused = _refused("T-2", BankRejectedError(f"bank answered 400 to POST http://10.20.30.40/t: {LEAKY}"))
    assert refused.reason == "refused" and refused.permanent
    assert unknown("T-3", f"the bank's status did not answer: {LEAKY}").reason == "timeout"
    for reason in (from_bank("T-1", answered).reason, refused.reason):
        assert "10.20" not in reason and "3171" not in reason and "ORA" not in reason
