"""A short, idempotent activity run locally first (one marker in the history instead of three
activity events and a workflow task), for at most `within`: `None` when it did not answer in time,
or failed in any way, and the caller runs the ordinary activity, which retries through an outage with
no history of its own and answers what the local attempt did (or raises its refusal)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import FailureError

from workflows.group_lifecycle.options import ACTIVITY_TIMEOUT, DB_RETRY, LOCAL_RECORD_WITHIN

ArgT = TypeVar("ArgT")
ResultT = TypeVar("ResultT")


async def local_first(
    method: Callable[[Any, ArgT], Awaitable[ResultT]],
    arg: ArgT,
    *,
    start_to_close: timedelta,
    within: timedelta,
    retry_policy: RetryPolicy,
) -> ResultT | None:
    try:
        return await workflow.execute_local_activity_method(
            method,
            arg,
            start_to_close_timeout=start_to_close,
            schedule_to_close_timeout=within,
            retry_policy=retry_policy,
        )
    except FailureError:
        return None


async def written_once(
    method: Callable[[Any, ArgT], Awaitable[ResultT]], arg: ArgT, *, local: bool
) -> ResultT:
    """A database write idempotent by its key (the budget reservation, a week's roll): with `local`
    (a run started under the patch that made it local), by the local activity first, retried inside
    the workflow task (which the worker heartbeats) for at most LOCAL_RECORD_WITHIN, as a step's record
    is; then, or without `local`, by the ordinary activity, which retries through an outage with no
    history of its own and answers what the local attempt wrote (or raises its refusal)."""
    if local:
        written = await local_first(
            method, arg, start_to_close=ACTIVITY_TIMEOUT, within=LOCAL_RECORD_WITHIN, retry_policy=DB_RETRY
        )
        if written is not None:
            return written
    return await workflow.execute_activity_method(
        method, arg, start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=DB_RETRY
    )
