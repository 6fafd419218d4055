"""A Padat Karya group paid by muster rolls, brought to its work period over the JSON API of the
wages tests (tests/api/test_wages.py: an API of their own serves the policy with the wage rule on,
whatever the built-in defaults say), for the console's roll form tests."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import httpx

from jps.domain.calendar import local_date
from jps.domain.models import Proposal
from jps.domain.roles import Role
from tests.api.conftest import Stack, act
from tests.api.test_wages import SITE, has_task, pk_proposal, until


async def group_at_rolls(http: httpx.AsyncClient, stack: Stack, name: str) -> tuple[str, Proposal]:
    """A group whose wage bill is approved and reserved: the mentor's `submit_muster` is open."""
    p = pk_proposal().model_copy(update={"name": name})
    resp = await http.post("/groups", json=p.model_dump(mode="json"), headers=stack.auth(Role.REGISTRAR))
    assert resp.status_code == 201, resp.text
    gid: str = resp.json()["group_id"]
    today = local_date(datetime.now(UTC))
    await act(http, stack, gid, "verify", Role.VERIFIER, {"decision": "approve"})
    await act(
        http,
        stack,
        gid,
        "schedule-training",
        Role.TRAINER,
        {"starts_on": today.isoformat(), "ends_on": today.isoformat(), "venue": "Balai Desa"},
    )
    await act(
        http, stack, gid, "record-attendance", Role.TRAINER, {"attended_niks": [m.nik for m in p.members]}
    )
    await act(http, stack, gid, "approve-disbursement", Role.FINANCE, {"amount": 10_000_000})
    await until("the wage bill reserved", lambda: has_task(http, stack, gid, "submit_muster"))
    return gid, p


def last_week() -> date:
    """The Monday of the week before this one: every day of it is past, as the form's default."""
    today = local_date(datetime.now(UTC))
    return today - timedelta(days=today.weekday() + 7)


def day_place(day: int, *, lat: float = SITE.lat) -> dict[str, str]:
    """The roll form's fields of a day's photos: where (at the worksite) and when (09:30 WIB)."""
    return {f"lat-{day}": str(lat), f"lon-{day}": str(SITE.lon), f"time-{day}": time(9, 30).strftime("%H:%M")}
