"""Calendar rules: the ministry's dates are Western Indonesia Time (WIB, UTC+7) calendar dates.

Training dates and visit dates are calendar dates an officer types; due instants are computed
from them here, in one place, so the workflow, the API and the reports agree on "today".
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone

WIB = timezone(timedelta(hours=7), "WIB")


def local_date(instant: datetime) -> date:
    return instant.astimezone(WIB).date()


def end_of_local_day(day: date) -> datetime:
    """The first instant after `day` ends in WIB, as a UTC datetime."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=WIB).astimezone(UTC)
