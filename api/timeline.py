"""A group's timeline (riwayat) for people: read from its Temporal event history, or from the audit log.

The workflow records every step through the `record_transition` activity, whose one input is a
`TransitionRecord`; the scheduled events of that activity, decoded with the client's data converter,
are the steps in order (a retried activity is scheduled once, so it shows once). Since patch
smaller-history-v1 a step is recorded by the local activity `record_step`, whose input the history does
not keep: its marker's result (a `RecordedStep`, the same keys) is the step instead. The workflow's
start and its end frame them. Temporal deletes a closed workflow's history after the namespace's
retention period; from then on the append-only audit table tells the same story.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from typing import Any

import asyncpg
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from api.queries import audit, grievances, verification
from api.schemas import HistoryEventOut, HistoryOut
from jps.domain.models import Officer
from jps.domain.nik import mask_niks_in
from jps.domain.roles import Role
from jps.settings import Settings

RECORD_ACTIVITY = "record_transition"
LOCAL_RECORD_ACTIVITY = "record_step"  # the local activity (its marker's result is the step's line)
LOCAL_ACTIVITY_MARKER = "core_local_activity"

_CLOSING_EVENTS: dict[int, str] = {
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED: "workflow_completed",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED: "workflow_failed",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED: "workflow_terminated",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED: "workflow_cancelled",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT: "workflow_timed_out",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW: "workflow_continued_as_new",
}


def ui_url(settings: Settings, group_id: str) -> str:
    base = settings.temporal_ui_url.rstrip("/")
    return f"{base}/namespaces/{settings.temporal_namespace}/workflows/{group_id}"


def _event_time(event: HistoryEvent) -> datetime:
    return event.event_time.ToDatetime(tzinfo=UTC)


async def _run_events(client: Client, group_id: str, run_id: str | None) -> tuple[list[HistoryEventOut], str]:
    """One run's timeline, and the run it continued from ('' for the first run)."""
    handle = client.get_workflow_handle(group_id, run_id=run_id)
    out: list[HistoryEventOut] = []
    previous_run = ""
    async for event in handle.fetch_history_events():
        kind = event.event_type
        if kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
            attrs = event.workflow_execution_started_event_attributes
            previous_run = attrs.continued_execution_run_id
            out.append(
                HistoryEventOut(
                    at=_event_time(event),
                    event="workflow_started",
                    details={"workflow_type": attrs.workflow_type.name, "task_queue": attrs.task_queue.name},
                )
            )
        elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            scheduled = event.activity_task_scheduled_event_attributes
            if scheduled.activity_type.name != RECORD_ACTIVITY or not scheduled.input.payloads:
                continue
            # Decoded as plain JSON, not as TransitionRecord: an old history must stay readable after
            # the model changes, and the record's `state` (NIKs in clear) is dropped right here.
            [record] = await client.data_converter.decode(scheduled.input.payloads[:1])
            out.append(_from_record(record, fallback_at=_event_time(event)))
        elif kind == EventType.EVENT_TYPE_MARKER_RECORDED:
            record = await _local_record(client, event)
            if record is not None:
                out.append(_from_record(record, fallback_at=_event_time(event)))
        elif kind in _CLOSING_EVENTS:
            out.append(HistoryEventOut(at=_event_time(event), event=_CLOSING_EVENTS[kind]))
    return out, previous_run


async def _local_record(client: Client, event: HistoryEvent) -> dict[str, Any] | None:
    """A step recorded by the local activity (`record_step`, since patch smaller-history-v1): its marker
    keeps the activity's type (plain JSON, written by the SDK) and its result, the step's timeline
    line (sealed like every payload). None for any other marker, or an attempt that failed."""
    marker = event.marker_recorded_event_attributes
    if marker.marker_name != LOCAL_ACTIVITY_MARKER or "result" not in marker.details:
        return None
    data = marker.details["data"].payloads if "data" in marker.details else []
    try:
        activity_type = json.loads(data[0].data).get("activity_type") if data else None
    except ValueError:
        return None
    result = marker.details["result"].payloads
    if activity_type != LOCAL_RECORD_ACTIVITY or not result:
        return None
    [record] = await client.data_converter.decode(result[:1])
    return record if isinstance(record, dict) else None


def _from_record(record: dict[str, Any], fallback_at: datetime) -> HistoryEventOut:
    details = dict(record.get("details") or {})
    if record.get("from_stage") and record.get("from_stage") != record.get("stage"):
        details.setdefault("from_stage", record["from_stage"])
    return HistoryEventOut(
        at=record.get("at") or fallback_at,
        event=record.get("event") or "step",
        stage=record.get("stage"),
        officer=record.get("officer"),
        reason=mask_niks_in(record.get("reason") or ""),
        details=mask_niks_in(details),
    )


async def from_temporal(client: Client, group_id: str) -> list[HistoryEventOut]:
    """Every run of the workflow id, oldest first (following continue-as-new back to the first)."""
    runs: list[list[HistoryEventOut]] = []
    run_id: str | None = None
    while True:
        events, previous = await _run_events(client, group_id, run_id)
        runs.append(events)
        if not previous:
            break
        run_id = previous
    return [e for run in reversed(runs) for e in run]


async def build(
    client: Client, pool: asyncpg.Pool, settings: Settings, group_id: str, *, officer: Officer
) -> HistoryOut:
    """The timeline; the Temporal UI link only for an auditor (the UI opens sealed payloads through
    the codec endpoint, which answers auditors only)."""
    try:
        events = await from_temporal(client, group_id)
        source = "temporal"
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise
        events = await audit.group_timeline(pool, group_id=group_id)
        source = "audit_log"
    others = [*await _grievance_events(pool, group_id, officer), *await _check_events(pool, group_id)]
    if others:  # merged by time (a stable sort: the group's own steps keep their order)
        events = sorted([*events, *others], key=lambda e: e.at)
    return HistoryOut(
        group_id=group_id,
        source=source,
        temporal_ui_url=ui_url(settings, group_id) if Role.AUDITOR in officer.roles else None,
        events=events,
    )


async def _grievance_events(pool: asyncpg.Pool, group_id: str, officer: Officer) -> list[HistoryEventOut]:
    """The group's grievances (pengaduan), each step a line `grievance_<step>` naming its case; none
    about this officer (a misconduct case's `about_officer` never sees it)."""
    rows = await grievances.grievances_of_group(pool, group_id=group_id, officer=officer)
    return [
        HistoryEventOut(
            at=r["at"],
            event=f"grievance_{r['event']}",
            officer=r["officer"],
            details={"grievance_id": r["grievance_id"], "category": r["category"], "status": r["status"]},
        )
        for r in rows
    ]


async def _check_events(pool: asyncpg.Pool, group_id: str) -> list[HistoryEventOut]:
    """The post-payment checks of the group's members ("did you receive it?"): asked, reminded,
    answered (confirmed, denied with the case it opened, or unanswered), automated steps."""
    rows = await verification.sample_events(pool, group_id=group_id)
    return [HistoryEventOut(at=r["at"], event=r["event"], details=r["details"]) for r in rows]


CSV_COLUMNS = ("at", "event", "stage", "officer", "reason", "details")


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def inert(cell: str) -> str:
    """A cell a spreadsheet will not run: one that begins like a formula (`=`, `+`, `-`, `@`, tab,
    carriage return) gets a leading `'`. Reasons and notes are officers' (and banks') free text."""
    return "'" + cell if cell.startswith(_FORMULA_START) else cell


def to_csv(history: HistoryOut) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(CSV_COLUMNS)
    for e in history.events:
        row = [
            e.at.isoformat(),
            e.event,
            e.stage.value if e.stage else "",
            e.officer or "",
            e.reason,
            json.dumps(e.details, sort_keys=True, ensure_ascii=False) if e.details else "",
        ]
        writer.writerow([inert(cell) for cell in row])
    return buf.getvalue()
