"""What the bench reads from Temporal: the recorded histories of a sample of workflows (events per
type, bytes) and the worker's SDK metrics (its Prometheus endpoint)."""

from __future__ import annotations

import asyncio
import re
import statistics
from collections import Counter
from typing import Any

from temporalio.client import Client

# ---- Temporal histories -----------------------------------------------------------------------------

COUNTED = {
    "activities": "EVENT_TYPE_ACTIVITY_TASK_SCHEDULED",
    "updates": "EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED",
    "timers": "EVENT_TYPE_TIMER_STARTED",
    "signals": "EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED",
}


LOCAL_ACTIVITY = "LOCAL_ACTIVITY"  # a count of its own beside the event types
LOCAL_ACTIVITY_MARKER = "core_local_activity"  # the marker name the SDK records a local activity under


async def history_profile(client: Client, workflow_ids: list[str], concurrency: int = 8) -> dict[str, Any]:
    """Events per workflow in the histories of `workflow_ids`: totals, bytes, and by type (medians)."""
    from temporalio.api.enums.v1 import EventType

    gate = asyncio.Semaphore(concurrency)
    per: list[Counter[str]] = []
    per_bytes: list[Counter[str]] = []
    sizes: list[int] = []
    totals: list[int] = []

    async def one(wid: str) -> None:
        async with gate:
            history = await client.get_workflow_handle(wid).fetch_history()
        kinds = Counter(EventType.Name(e.event_type) for e in history.events)
        # A local activity leaves a marker of its own name (patches leave `core_patch` markers).
        markers = (e.marker_recorded_event_attributes.marker_name for e in history.events)
        kinds[LOCAL_ACTIVITY] = sum(1 for name in markers if name == LOCAL_ACTIVITY_MARKER)
        weights: Counter[str] = Counter()
        for e in history.events:
            weights[EventType.Name(e.event_type)] += e.ByteSize()
        per.append(kinds)
        per_bytes.append(weights)
        totals.append(len(history.events))
        sizes.append(sum(e.ByteSize() for e in history.events))

    await asyncio.gather(*(one(w) for w in workflow_ids))
    if not per:
        return {"sampled": 0}
    types = sorted({k for c in per for k in c})
    by_type = {t.removeprefix("EVENT_TYPE_"): statistics.median(c.get(t, 0) for c in per) for t in types}
    return {
        "sampled": len(per),
        "events_mean": round(statistics.fmean(totals), 1),
        "events_median": statistics.median(totals),
        "history_kb_mean": round(statistics.fmean(sizes) / 1024, 1),
        "history_bytes_mean": round(statistics.fmean(sizes)),
        "counts": {k: statistics.median(c.get(t, 0) for c in per) for k, t in COUNTED.items()}
        | {"local_activities": statistics.median(c.get(LOCAL_ACTIVITY, 0) for c in per)},
        "by_type_median": by_type,
        "kb_by_type_median": {
            t.removeprefix("EVENT_TYPE_"): round(statistics.median(c.get(t, 0) for c in per_bytes) / 1024, 1)
            for t in types
        },
    }


# ---- worker metrics (the SDK's Prometheus endpoint) ---------------------------------------------------

# Counters summed over their labels, and histograms as count and mean.
WORKER_COUNTERS = (
    "sticky_cache_hit",
    "sticky_cache_miss",
    "sticky_cache_total_forced_eviction",
    "workflow_task_execution_failed",
    "workflow_completed",
    "activity_execution_failed",
    "workflow_task_queue_poll_succeed",
    "activity_poll_no_task",
)
WORKER_GAUGES = ("sticky_cache_size",)
WORKER_HISTOGRAMS = (
    "workflow_task_schedule_to_start_latency",
    "workflow_task_execution_latency",
    "workflow_task_replay_latency",
    "activity_schedule_to_start_latency",
    "activity_execution_latency",
)


def parse_worker_metrics(text: str) -> dict[str, Any]:
    sums: dict[str, float] = {}
    by_activity: dict[str, dict[str, float]] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name_labels, _, value = line.rpartition(" ")
        name = name_labels.split("{", 1)[0].removeprefix("temporal_")
        try:
            number = float(value)
        except ValueError:
            continue
        sums[name] = sums.get(name, 0.0) + number
        if name in ("activity_execution_latency_sum", "activity_execution_latency_count"):
            label = re.search(r'activity_type="([^"]+)"', name_labels)
            if label:
                slot = by_activity.setdefault(label.group(1), {})
                slot[name.rsplit("_", 1)[1]] = slot.get(name.rsplit("_", 1)[1], 0.0) + number
    out: dict[str, Any] = {}
    for name in WORKER_COUNTERS + WORKER_GAUGES:
        if name in sums:
            out[name] = int(sums[name])
    for name in WORKER_HISTOGRAMS:
        count = sums.get(f"{name}_count")
        if count:
            # Means in the unit the SDK reports (milliseconds in temporalio 1.x's Prometheus export).
            out[f"{name}_count"] = int(count)
            out[f"{name}_mean"] = round(sums.get(f"{name}_sum", 0.0) / count, 2)
    out["activity_execution_mean_by_type"] = {
        k: {"count": int(v.get("count", 0)), "mean": round(v.get("sum", 0.0) / v["count"], 2)}
        for k, v in sorted(by_activity.items())
        if v.get("count")
    }
    return out


async def worker_metrics(url: str) -> dict[str, Any]:
    import httpx

    try:
        async with httpx.AsyncClient(timeout=10) as http:
            resp = await http.get(url)
    except httpx.HTTPError as exc:
        return {"error": str(exc)}
    return parse_worker_metrics(resp.text)
