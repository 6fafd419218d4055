"""How the console writes money and time for Indonesian officers: `Rp 10.000.000`, `02/10/2020`,
`02/10/2020 14:05 WIB`. The ministry works in Western Indonesia Time, whatever the server's zone."""

from __future__ import annotations

from datetime import UTC, date, datetime

from jps.domain.calendar import WIB


def rupiah(amount: int | None) -> str:
    """Whole rupiah with dots between thousands: 10000000 -> 'Rp 10.000.000'."""
    if amount is None:
        return "—"
    sign = "-" if amount < 0 else ""
    return f"{sign}Rp {abs(int(amount)):,}".replace(",", ".")


def number(value: int | None) -> str:
    """A count with Indonesian thousands dots: 39700 -> '39.700'."""
    if value is None:
        return "—"
    return f"{int(value):,}".replace(",", ".")


_MONEY_KEYS = ("amount", "threshold", "revenue", "ceiling")


def detail(key: str, value: object) -> str:
    """A timeline or audit detail as a person reads it: amounts in rupiah, lists joined."""
    if isinstance(value, int) and not isinstance(value, bool) and key.endswith(_MONEY_KEYS):
        return rupiah(value)
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if value is None:
        return "—"
    return str(value)


def day(value: date | datetime | str | None) -> str:
    """dd/mm/yyyy; an instant is first moved to WIB (its calendar day there)."""
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    if isinstance(value, datetime):
        value = _wib(value).date()
    return value.strftime("%d/%m/%Y")


def moment(value: datetime | str | None) -> str:
    """dd/mm/yyyy HH:MM WIB."""
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return _wib(value).strftime("%d/%m/%Y %H:%M WIB")


def iso_day(value: date | datetime | None) -> str:
    """yyyy-mm-dd, the value an <input type=date> takes."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = _wib(value).date()
    return value.isoformat()


def _wib(value: datetime) -> datetime:
    if value.tzinfo is None:  # the read model stores timestamptz; a naive value would be UTC
        value = value.replace(tzinfo=UTC)
    return value.astimezone(WIB)
