"""A Padat Karya group paid by muster rolls, brought to its work period over the JSON API of the
wages tests (tests/api/test_wages.py: an API of their own serves the policy with the wage rule on,
whatever the built-in defaults say), for the console's roll form tests."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import httpx

from jps.domain.calendar import local_date
from jps.domain.models import Proposal
from tests.api.conftest import Stack
from tests.api.test_wages import SITE, pk_proposal, to_the_rolls


async def group_at_rolls(http: httpx.AsyncClient, stack: Stack, name: str) -> tuple[str, Proposal]:
    """A group whose wage bill is approved and reserved: the mentor's `submit_muster` is open."""
    p = pk_proposal().model_copy(update={"name": name})
    return await to_the_rolls(http, stack, p), p


def last_week() -> date:
    """The Monday of the week before this one: every day of it is past, as the form's default."""
    today = local_date(datetime.now(UTC))
    return today - timedelta(days=today.weekday() + 7)


def day_place(day: int, *, lat: float = SITE.lat) -> dict[str, str]:
    """The roll form's fields of a day's photos: where (at the worksite) and when (09:30 WIB)."""
    return {f"lat-{day}": str(lat), f"lon-{day}": str(SITE.lon), f"time-{day}": time(9, 30).strftime("%H:%M")}
