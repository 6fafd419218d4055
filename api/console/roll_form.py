"""The mentor's muster roll form (daftar hadir mingguan) on a Padat Karya group's wages page: the
group's workers × the week's days, a tick and the hours for each worker-day (the policy's HOK by
default), and per day the worksite's photos with where and when they were taken.

Members are named by their number in the group, as on every console form (the page never holds a NIK
in clear); the NIKs are looked up server-side (`api.console.actions.niks_of`). A new photo is checked
and kept by `api.evidence` as a `worksite_photo`, the path of `POST /groups/{id}/files`; the roll
then goes through `api.service.perform_action`, the path of `POST /groups/{id}/actions/submit-muster`
(the route is `api.console.wages.submit_roll`). Every photo and the roll's shape are checked before
any photo is kept; the workflow and its activity still decide (a day in the future, hours above the
maximum, a worker's day already on a roll, a week already submitted), and their refusal comes back
on the page naming the worker and the day, or the day's photos, with the form as posted: photos kept
on the way stay with their day, so a corrected roll does not upload them again.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from fastapi import HTTPException
from starlette.datastructures import FormData, UploadFile

from api.console.actions import FormError
from api.console.i18n import Translator
from api.deps import Services
from api.evidence import Upload, check_place_and_time, checked_upload, keep_upload, too_large
from api.limits import RouteLimit
from api.queries.groups import GroupPlace
from api.schemas import GroupOut
from jps.domain.calendar import WIB
from jps.domain.files import ContentType, EvidencePurpose
from jps.domain.models import Officer
from jps.domain.muster import EVIDENCE_FILE_PATTERN
from jps.domain.nik import mask_niks_in
from jps.domain.wages import WagePolicy
from jps.settings import Settings

PHOTOS_PER_DAY = 3  # new photos a day on one form; more go by the API (a day takes up to 20)
FORM_ROOM_BYTES = 256 * 1024  # the grid's ticks and hours, the days' places and times
IMAGES = (ContentType.JPEG, ContentType.PNG)
_CELL = re.compile(r"^w-([0-9]{1,3})-([0-6])$")
# The grid's two fields a worker-day, a day's five, the week, notes: room for the largest group.
MAX_FIELDS = 2 * 7 * 100 + 7 * 5 + 10


def roll_form_limit(settings: Settings) -> RouteLimit:
    """The roll form's body limit, for `api.limits.BodyLimitMiddleware`: a few photos a day."""
    return RouteLimit(
        "POST",
        re.compile(r"/kelompok/[^/]+/upah/daftar-hadir"),
        7 * PHOTOS_PER_DAY * settings.max_file_bytes + FORM_ROOM_BYTES,
        too_large(settings.max_file_bytes),
    )


@dataclass
class DayPhotos:
    """One day of the week on the form: its photos (kept earlier, or new) and where and when."""

    day: int  # 0 = Monday
    kept: list[str] = field(default_factory=list)  # kept on an earlier, refused try
    new: list[UploadFile] = field(default_factory=list)
    lat: str = ""
    lon: str = ""
    time: str = ""  # HH:MM, WIB
    data: list[bytes] = field(default_factory=list)
    types: list[ContentType] = field(default_factory=list)


@dataclass
class PostedRoll:
    """The form as posted (or, on a first view, empty): refilled after a refusal."""

    week: str = ""
    hours: dict[str, str] = field(default_factory=dict)  # "n-d" (member number, day) -> as typed
    days: list[DayPhotos] = field(default_factory=lambda: [DayPhotos(d) for d in range(7)])
    notes: str = ""


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def open_weeks(today: date, policy: WagePolicy, submitted: Sequence[date]) -> list[date]:
    """The Mondays a roll may still be sent for, newest first: not in the future, with a day inside
    the policy's `max_roll_age_days`, no roll yet."""
    oldest = today - timedelta(days=policy.max_roll_age_days)
    weeks, monday = [], monday_of(today)
    while monday + timedelta(days=6) >= oldest:
        if monday not in submitted:
            weeks.append(monday)
        monday -= timedelta(days=7)
    return weeks


def form_context(
    group: GroupOut,
    policy: WagePolicy,
    today: date,
    submitted: Sequence[date],
    wanted: str,
    posted: PostedRoll | None,
    t: Translator,
) -> dict[str, Any]:
    """What `_roll_form.html` shows: the weeks to pick from, the chosen week's days (a future day has
    no cells), the members by number, and the values as posted or the defaults."""
    weeks = open_weeks(today, policy, submitted)
    by_iso = {w.isoformat(): w for w in weeks}
    chosen = by_iso.get(posted.week if posted else wanted)
    if posted and chosen is None:
        posted = None  # posted for a week the form does not offer: its ticks belong to no week shown
    if chosen is None and weeks:
        last_week = monday_of(today) - timedelta(days=7)  # usually the roll of the week just worked
        chosen = last_week if last_week in weeks else weeks[0]
    roll = posted or PostedRoll()
    days = []
    for i in range(7):
        day = chosen + timedelta(days=i) if chosen else today
        days.append(
            {"i": i, "date": day, "label": day_label(t, day), "future": day > today, **vars(roll.days[i])}
        )
    return {
        "weeks": weeks,
        "week": chosen,
        "days": days,
        "members": [{"no": n, "name": m.name, "nik": m.nik} for n, m in enumerate(group.members, start=1)],
        "hours": roll.hours,
        "notes": roll.notes,
        "hours_per_hok": policy.hours_per_hok,
        "max_hours": policy.max_hours_per_day,
        "photos_per_day": PHOTOS_PER_DAY,
    }


def day_label(t: Translator, day: date) -> str:
    return f"{t(f'wages_day_{day.weekday()}')} {day:%d/%m}"


# ---- reading the posted form ----


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def read_posted(form: FormData) -> PostedRoll:
    roll = PostedRoll(week=_text(form, "week_starts_on"), notes=_text(form, "notes"))
    for key in form:
        if found := _CELL.match(key):
            cell = f"{int(found.group(1))}-{found.group(2)}"
            roll.hours[cell] = _text(form, f"h-{cell}")
    for day in roll.days:
        d = day.day
        day.kept = [fid for fid in _text(form, f"kept-{d}").split() if re.match(EVIDENCE_FILE_PATTERN, fid)]
        day.new = [
            u for u in form.getlist(f"photo-{d}") if isinstance(u, UploadFile) and (u.filename or u.size)
        ]
        day.lat, day.lon, day.time = (
            _text(form, f"lat-{d}"),
            _text(form, f"lon-{d}"),
            _text(form, f"time-{d}"),
        )
    return roll


@dataclass
class RollBody:
    """The roll as `submit-muster` takes it, and which form cell or day each entry and evidence is."""

    body: dict[str, Any]
    entry_at: list[tuple[int, int]]  # entries[i] -> (member number, day)
    evidence_at: list[int]  # evidence[i] -> day


def week_of(roll: PostedRoll) -> date:
    try:
        week = date.fromisoformat(roll.week)
    except ValueError:
        raise FormError("week_starts_on", "a date like 2020-10-05") from None
    return week


def check_counts(roll: PostedRoll) -> None:
    """A few new photos a day (the form's body limit counts on it)."""
    for day in roll.days:
        if len(day.new) > PHOTOS_PER_DAY:
            raise FormError(f"days.{day.day}", f"at most {PHOTOS_PER_DAY} new photos a day on this form")


def cells(roll: PostedRoll) -> list[tuple[int, int]]:
    """The ticked cells (member number, day), worker by worker, day by day."""
    found = []
    for key in roll.hours:
        n, d = key.split("-")
        found.append((int(n), int(d)))
    return sorted(found)


def roll_body(roll: PostedRoll, week: date, niks: dict[int, str], ids: dict[int, list[str]]) -> RollBody:
    """`ids` names the files of each day (kept ones, then new ones: kept or placeholders)."""
    entries: list[dict[str, Any]] = []
    entry_at: list[tuple[int, int]] = []
    for n, d in cells(roll):
        typed = roll.hours[f"{n}-{d}"]
        if not typed.isdigit():
            raise FormError(f"entries.{len(entries)}.hours", "whole hours, e.g. 8")
        entries.append({"nik": niks[n], "date": (week + timedelta(days=d)).isoformat(), "hours": int(typed)})
        entry_at.append((n, d))
    if not entries:
        raise FormError("entries", "tick at least one worker's day")
    evidence: list[dict[str, Any]] = []
    evidence_at: list[int] = []
    for day in roll.days:
        if ids.get(day.day):
            evidence.append({"date": (week + timedelta(days=day.day)).isoformat(), "file_ids": ids[day.day]})
            evidence_at.append(day.day)
    body = {"week_starts_on": week.isoformat(), "entries": entries, "evidence": evidence, "notes": roll.notes}
    return RollBody(body, entry_at, evidence_at)


def pending_ids(roll: PostedRoll) -> dict[int, list[str]]:
    """Each day's files before the new ones are kept: placeholders stand for them."""
    return {
        day.day: [*day.kept, *(f"F-NEWPHOTO{day.day}{j:02d}" for j in range(len(day.new)))]
        for day in roll.days
    }


# ---- checking and keeping the photos ----


def _place_and_time(
    day: DayPhotos, on: date, where: str
) -> tuple[float | None, float | None, datetime | None]:
    coords: list[float | None] = []
    for name, text, bound in (("lat", day.lat, 90), ("lon", day.lon, 180)):
        try:
            value = float(text) if text else None
        except ValueError:
            raise FormError(f"{where}.{name}", "a decimal number, e.g. -6.2") from None
        if value is not None and not -bound <= value <= bound:
            raise FormError(f"{where}.{name}", f"between -{bound} and {bound}")
        coords.append(value)
    taken: datetime | None = None
    if day.time:
        try:
            taken = datetime.combine(on, time.fromisoformat(day.time), tzinfo=WIB)
        except ValueError:
            raise FormError(f"{where}.captured_at", "a time like 09:30") from None
    try:
        check_place_and_time(coords[0], coords[1], taken)
    except HTTPException as exc:
        [(loc, msg), *_] = as_errors(exc.detail)
        raise FormError(f"{where}.{loc[-1]}", msg) from None
    return coords[0], coords[1], taken


async def check_photos(roll: PostedRoll, rb: RollBody, max_bytes: int, group_id: str) -> None:
    """Read and check every new photo (size, and an image by its bytes) and its day's place and time
    before any is kept."""
    for i, d in enumerate(rb.evidence_at):
        day = roll.days[d]
        if not day.new:
            continue
        _place_and_time(day, date.fromisoformat(rb.body["evidence"][i]["date"]), f"evidence.{i}")
        for j, upload in enumerate(day.new, start=len(day.kept)):
            data = await upload.read(max_bytes + 1)  # one byte past the limit tells it was passed
            where = f"evidence.{i}.file_ids.{j}"
            kind = checked_upload(data, max_bytes=max_bytes, group_id=group_id, field=where)
            if kind not in IMAGES:
                raise FormError(where, f"not an image ({kind.value}): a photo is a JPEG or PNG")
            day.data.append(data)
            day.types.append(kind)


async def keep_photos(
    services: Services, officer: Officer, place: GroupPlace, roll: PostedRoll, week: date
) -> dict[int, list[str]]:
    """The new photos to the file store, as the API keeps them; each day's files, kept ones first.
    Each kept photo joins its day's `kept` at once, so a refusal after it shows it kept."""
    ids: dict[int, list[str]] = {}
    for day in roll.days:
        if day.new:
            lat, lon, taken = _place_and_time(day, week + timedelta(days=day.day), "evidence")
            for upload, data, kind in zip(day.new, day.data, day.types, strict=True):
                upload_ = Upload(data, kind, EvidencePurpose.WORKSITE_PHOTO, upload.filename, lat, lon, taken)
                kept = await keep_upload(
                    services.pool, services.files, officer=officer, place=place, upload=upload_
                )
                day.kept.append(kept.file_id)
            day.new = []
        ids[day.day] = list(day.kept)
    return ids


# ---- refusals, each naming the worker and day, or the day's photos ----

_NAMED = re.compile(r"^(?:Value error, )?([A-Za-z_][\w.\[\]]*): (.+)$", re.S)


def parts(field_name: str) -> list[str | int]:
    return [int(p) if p.isdigit() else p for p in re.findall(r"[^.\[\]]+", field_name)]


def as_errors(detail: Any) -> list[tuple[list[str | int], str]]:
    """A refusal's detail (FastAPI's list, pydantic's errors, or a workflow's "field: reason"
    sentence) as (location, reason) pairs."""
    items = detail if isinstance(detail, list) else [{"loc": (), "msg": str(detail)}]
    out = []
    for error in items:
        loc: list[str | int] = [p for p in error.get("loc", ()) if p not in ("body", "query", "path")]
        msg = str(error.get("msg", ""))
        if not loc and (found := _NAMED.match(msg)) and " " not in found.group(1):
            loc, msg = parts(found.group(1)), found.group(2)
        out.append((loc, msg))
    return out


def error_lines(
    errors: list[tuple[list[str | int], str]],
    t: Translator,
    rb: RollBody | None,
    week: date | None,
    names: dict[int, str],
) -> list[str]:
    """`entries.3.hours` becomes "2. Siti · Rab 08/10 · Jam"; `evidence.0.file_ids.1` becomes
    "Sen 06/10 · Foto lokasi 2"."""
    lines = []
    for loc, msg in errors:
        label = ".".join(str(p) for p in loc)
        at = loc[1] if len(loc) > 1 and isinstance(loc[1], int) else None
        rest = [str(p) for p in loc[2:]]
        if rb and week and at is not None and loc[0] == "entries" and at < len(rb.entry_at):
            n, d = rb.entry_at[at]
            label = f"{n}. {names.get(n, '')} · {day_label(t, week + timedelta(days=d))}"
            label += f" · {t(rest[-1])}" if rest and t.has(rest[-1]) else ""
        elif rb and week and at is not None and loc[0] == "evidence" and at < len(rb.evidence_at):
            label = f"{day_label(t, week + timedelta(days=rb.evidence_at[at]))} · {t('wages_evidence')}"
            if rest[:1] == ["file_ids"] and len(loc) > 3 and isinstance(loc[3], int):
                label += f" {loc[3] + 1}"
            elif rest and t.has(rest[-1]):
                label += f" · {t(rest[-1])}"
        elif week and at is not None and loc[0] == "days":  # the form's own day (too many photos)
            label = f"{day_label(t, week + timedelta(days=at))} · {t('wages_evidence')}"
        elif loc and t.has(str(loc[-1])):
            label = str(t(str(loc[-1])))
        lines.append(str(mask_niks_in(f"{label}: {msg}" if label else msg)))
    return lines
