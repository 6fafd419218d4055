"""How a payment activity calls the bank within one attempt: a few transfers at once, each call tried
again at once after a passing fault (same request, so the same idempotency key), heartbeating
meanwhile, and never past four fifths of the attempt's start-to-close timeout, so a hanging bank
cannot make an attempt time out as a whole (what is still unanswered then is left to the next step).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import TypeVar

from temporalio import activity

from activities.bank_client import BankTransientError

CONCURRENCY = 8  # transfers of one batch in flight at once
PAUSES_S = (0.2, 0.5)  # between the tries of one call in one activity attempt (3 tries)
HEARTBEAT_EVERY_S = 1.0

T = TypeVar("T")


async def patiently(call: Callable[[], Awaitable[T]]) -> T:
    """`call()`, tried again after a passing fault (same request, so the same idempotency key)."""
    for pause in PAUSES_S:
        try:
            return await call()
        except BankTransientError:
            await asyncio.sleep(pause)
    return await call()


@asynccontextmanager
async def heartbeating(progress: Callable[[], int]) -> AsyncIterator[None]:
    """Heartbeat every second while the body runs (a slow bank call must not look like a dead worker).
    A local activity does not heartbeat: its workflow task is kept alive by the worker instead."""
    if not activity.in_activity() or activity.info().is_local:
        yield
        return

    async def beat() -> None:
        while True:
            activity.heartbeat(progress())
            await asyncio.sleep(HEARTBEAT_EVERY_S)

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()


def time_left() -> float | None:
    """Seconds this activity attempt may still spend on the bank, keeping a fifth of its
    start-to-close timeout to answer; None outside an activity or without a timeout."""
    if not activity.in_activity():
        return None
    info = activity.info()
    if info.start_to_close_timeout is None:
        return None
    elapsed = (datetime.now(UTC) - info.started_time).total_seconds()
    return max(0.0, 0.8 * info.start_to_close_timeout.total_seconds() - elapsed)


def retrying() -> bool:
    """Whether an earlier attempt of this activity may already have reached the bank."""
    return activity.in_activity() and activity.info().attempt > 1


async def in_time(calls: list[Callable[[], Awaitable[T]]]) -> list[T | None]:
    """Each call's result, in order, the calls a few at once, heartbeating meanwhile. None for a call
    still running when the attempt's time ran out: it is cancelled, which to the bank is a lost
    answer. Whatever a call raises propagates."""
    if not calls:
        return []
    gate = asyncio.Semaphore(CONCURRENCY)
    done = 0

    async def one(call: Callable[[], Awaitable[T]]) -> T:
        nonlocal done
        async with gate:
            try:
                return await call()
            finally:
                done += 1

    tasks = [asyncio.ensure_future(one(call)) for call in calls]
    try:
        async with heartbeating(lambda: done):
            _, late = await asyncio.wait(tasks, timeout=time_left())
    finally:
        for task in tasks:
            task.cancel()  # a no-op for the finished ones
        await asyncio.gather(*tasks, return_exceptions=True)
    return [None if task in late else task.result() for task in tasks]
