"""A bank's error text never travels further than the callback route: the signal the group's
workflow receives (and so its history, its state, the audit log and the leader's messages) carries a
reason code; the text is logged."""

from __future__ import annotations

import json
from typing import Any

import httpx

from jps.contracts.activities import PaymentResult
from jps.contracts.names import PAYMENT_BATCH_SIGNAL
from jps.domain.roles import Role
from jps.signing import signed_headers
from tests import factories
from tests.api.conftest import Stack, act, submit, today, wait_for_stage

LEAKY = "ORA-00942 at core-banking-7.internal (10.20.30.40): rekening tidak aktif"


async def test_a_callback_reason_reaches_the_workflow_as_a_code(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    proposal = factories.proposal()
    gid = (await submit(http, stack, proposal))["group_id"]
    await act(http, stack, gid, "verify", Role.VERIFIER, {"decision": "approve"})
    training = {"starts_on": today(), "ends_on": today(), "venue": "BLK"}
    await act(http, stack, gid, "schedule-training", Role.TRAINER, training)
    niks = [m.nik for m in proposal.members]
    await act(http, stack, gid, "record-attendance", Role.TRAINER, {"attended_niks": niks})
    await act(http, stack, gid, "approve-disbursement", Role.FINANCE, {"amount": 9_000_000})
    group = await wait_for_stage(http, stack, gid, "mentoring")
    [payment] = group["payments"]
    # The group's own batch is settled (nothing waits for its callbacks): a transfer of another batch
    # of the group, still pending, is answered, so the callback reaches the workflow as a signal.
    pending = f"{gid}-A9-00"
    await stack.pool.execute(
        """INSERT INTO payments (transfer_id, idempotency_key, group_id, batch_id, attempt, beneficiary,
                                 bank_code, account_no, amount, status)
           SELECT $1, $1, group_id, $2, 9, beneficiary, bank_code, account_no, amount, 'pending'
           FROM payments WHERE transfer_id = $3""",
        pending,
        f"{gid}-A9",
        payment["transfer_id"],
    )

    payload: dict[str, Any] = {"transfer_id": pending, "status": "failed", "reason": LEAKY}
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json", **signed_headers(body, stack.settings.bank_hmac_secret)}
    assert (await http.post("/payments/callback", content=body, headers=headers)).status_code == 200

    history = await stack.client.get_workflow_handle(gid).fetch_history()
    reasons = []
    for event in history.events:
        if event.HasField("workflow_execution_signaled_event_attributes"):
            attrs = event.workflow_execution_signaled_event_attributes
            if attrs.signal_name == PAYMENT_BATCH_SIGNAL:
                [results] = await stack.client.data_converter.decode(
                    list(attrs.input.payloads), [list[PaymentResult]]
                )
                reasons += [result.reason for result in results]
    assert "other" in reasons and not any("ORA" in r or "10.20" in r for r in reasons)
    rows = await stack.pool.fetch(
        "SELECT reason, details::text AS details FROM audit_log WHERE group_id = $1", gid
    )
    assert not any("ORA-00942" in r["reason"] or "ORA-00942" in r["details"] for r in rows)
