"""How the lifecycle calls its activities: timeouts and retry policies, one place."""

from __future__ import annotations

from datetime import timedelta

from temporalio.common import RetryPolicy

from jps.contracts.refusals import ErrorType

ACTIVITY_TIMEOUT = timedelta(seconds=30)
BANK_BATCH_TIMEOUT = timedelta(minutes=2)
# How long one conversation with the bank (an attempt and its retries) may take before the answer
# counts as unclear and the workflow's own backed-off polling takes over (timers that escalate and
# open an investigation, instead of an activity retried unseen).
BANK_ASK_WITHIN = timedelta(minutes=10)
# resolve-payment asks the bank while holding the group's lock: briefly.
RESOLVE_ASK_WITHIN = timedelta(minutes=1)
# The bank activities heartbeat every second: a worker killed mid-batch is noticed after this long
# and the batch retried with the same keys, instead of after the whole start-to-close timeout.
BANK_HEARTBEAT_TIMEOUT = timedelta(seconds=10)

# A step's record as a local activity retries inside the workflow task (the worker heartbeats the
# task, about three history events every 8 s): past this it falls back to the ordinary activity,
# whose retries through a database outage cost no history.
LOCAL_RECORD_WITHIN = timedelta(seconds=30)

# How long a refused registration keeps its workflow open for the `registered` update to hear it.
REFUSAL_HEARD_WITHIN = timedelta(minutes=1)

DB_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    non_retryable_error_types=[ErrorType.NIK_CONFLICT, ErrorType.INVALID_DATA, ErrorType.RECEIPT_REUSED],
)
BANK_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
    non_retryable_error_types=[
        ErrorType.BANK_REJECTED,
        ErrorType.IDEMPOTENCY_CONFLICT,
        ErrorType.INVALID_DATA,
    ],
)
