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
