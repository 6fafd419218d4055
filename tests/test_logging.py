"""One logging pipeline: structlog events and the standard library's loggers (the Temporal SDK's among
them) render the same way, carry the bound context and never show a NIK in clear."""

from __future__ import annotations

import io
import json
import logging
import logging.config
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import structlog
from temporalio import activity, workflow
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment
from temporalio.worker import Worker

from jps.logging import UVICORN_LOG_CONFIG, configure_from_settings, configure_logging
from jps.settings import get_settings

NIK = "3171014501900001"  # DKI Jakarta, a woman born 05-01-1990
MASKED = "3171********0001"


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """Logging reconfigured as in production (JSON) into a buffer; the session's setup restored after."""
    buffer = io.StringIO()
    configure_logging(json=True, level="INFO", stream=buffer, force=True)
    structlog.contextvars.clear_contextvars()
    yield buffer
    structlog.contextvars.clear_contextvars()
    configure_logging(level="WARNING", force=True)


def events(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]


def test_json_lines_parse_and_carry_bound_context(json_log: io.StringIO) -> None:
    log = structlog.get_logger()
    structlog.contextvars.bind_contextvars(group_id="TKM-3171-0001", workflow_id="TKM-3171-0001")
    log.bind(officer="verifier-01").info("update_accepted", action="verify", amount=10_000_000)

    [event] = events(json_log)
    assert event["event"] == "update_accepted"
    assert event["level"] == "info"
    assert event["group_id"] == "TKM-3171-0001"
    assert event["workflow_id"] == "TKM-3171-0001"
    assert event["officer"] == "verifier-01"
    assert event["amount"] == 10_000_000
    assert event["timestamp"].endswith("Z")


def test_niks_are_masked_in_fields_lists_messages_and_tracebacks(json_log: io.StringIO) -> None:
    log = structlog.get_logger()
    log.info("member_checked", nik=NIK, attended_niks=[NIK, "3171014501900002"])
    log.warning(f"duplicate NIK {NIK} in group")
    try:
        raise ValueError(f"NIK {NIK} already active")
    except ValueError:
        log.exception("proposal_refused")

    raw = json_log.getvalue()
    assert NIK not in raw
    first, second, third = events(json_log)
    assert first["nik"] == MASKED
    assert first["attended_niks"] == [MASKED, "3171********0002"]
    assert second["event"] == f"duplicate NIK {MASKED} in group"
    assert MASKED in third["exception"] and "ValueError" in third["exception"]


@pytest.mark.parametrize("sep", ["", "-", ".", " ", "+", "%20"])
def test_a_nik_in_any_written_shape_is_masked_inside_a_text(json_log: io.StringIO, sep: str) -> None:
    """Each shape gets past the quick test that spares NIK-free texts both substitutions."""
    written = sep.join((NIK[:4], NIK[4:8], NIK[8:12], NIK[12:]))
    structlog.get_logger().info("status_looked_up", query=f"group_id={written}&lang=id")
    [event] = events(json_log)
    assert written not in json_log.getvalue()
    masked = sep.join((NIK[:4], "****", "****", NIK[12:])) if sep else MASKED
    assert event["query"] == f"group_id={masked}&lang=id"


def test_longer_numbers_are_not_mistaken_for_niks(json_log: io.StringIO) -> None:
    structlog.get_logger().info("payment_instructed", account_no="12345678901234567", amount="1234567890")
    [event] = events(json_log)
    assert event["account_no"] == "12345678901234567"
    assert event["amount"] == "1234567890"


def test_stdlib_loggers_go_through_the_same_pipeline(json_log: io.StringIO) -> None:
    structlog.contextvars.bind_contextvars(group_id="PK-3201-0007")
    logging.getLogger("temporalio.worker").warning("retrying %s for %s", "poll", NIK, extra={"attempt": 3})

    [event] = events(json_log)
    assert event["logger"] == "temporalio.worker"
    assert event["level"] == "warning"
    assert event["event"] == f"retrying poll for {MASKED}"
    assert event["attempt"] == 3
    assert event["group_id"] == "PK-3201-0007"


def test_uvicorn_lines_join_the_pipeline_with_our_log_config(json_log: io.StringIO) -> None:
    # What `uvicorn --log-config jps/uvicorn_logging.json` does before the app configures logging.
    logging.config.dictConfig(json.loads(UVICORN_LOG_CONFIG.read_text()))
    access = logging.getLogger("uvicorn.access")
    access.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", "/health", "1.1", 200)
    logging.getLogger("uvicorn.error").info("Started", extra={"color_message": "\x1b[36mStarted\x1b[0m"})

    first, second = events(json_log)
    assert first["logger"] == "uvicorn.access"
    assert first["event"] == '127.0.0.1:5000 - "GET /health HTTP/1.1" 200'
    assert second["event"] == "Started" and "color_message" not in second


async def test_temporal_activity_logger_goes_through_structlog(json_log: io.StringIO) -> None:
    @activity.defn
    async def notify_member(nik: str) -> None:
        activity.logger.info("notification_queued for %s", nik)

    await ActivityEnvironment().run(notify_member, NIK)

    [event] = events(json_log)
    assert event["logger"] == "temporalio.activity"
    assert event["event"].startswith(f"notification_queued for {MASKED}")
    assert event["temporal_activity"]["activity_id"]  # the SDK context rides along as a field


@workflow.defn(sandboxed=False)
class LoggingWorkflow:
    @workflow.run
    async def run(self, nik: str) -> None:
        workflow.logger.info("stage_entered for %s", nik)


async def test_temporal_workflow_logger_goes_through_structlog(
    json_log: io.StringIO, time_env: WorkflowEnvironment
) -> None:
    queue = f"logging-{uuid.uuid4()}"
    async with Worker(time_env.client, task_queue=queue, workflows=[LoggingWorkflow]):
        await time_env.client.execute_workflow(
            LoggingWorkflow.run,
            NIK,
            id=f"logging-{uuid.uuid4()}",
            task_queue=queue,
            execution_timeout=timedelta(seconds=30),
        )

    [event] = [e for e in events(json_log) if e["logger"] == "temporalio.workflow"]
    assert event["event"].startswith(f"stage_entered for {MASKED}")
    assert event["temporal_workflow"]["workflow_type"] == "LoggingWorkflow"
    assert NIK not in json_log.getvalue()


def test_console_lines_in_development(monkeypatch: pytest.MonkeyPatch) -> None:
    buffer = io.StringIO()
    try:
        configure_logging(json=False, stream=buffer, force=True)
        structlog.get_logger().info("group_submitted", group_id="TKM-3171-0001", nik=NIK)
        line = buffer.getvalue()
        assert "group_submitted" in line and "group_id=TKM-3171-0001" in line
        assert f"nik={MASKED}" in line
        with pytest.raises(json.JSONDecodeError):
            json.loads(line)
    finally:
        configure_logging(level="WARNING", force=True)


@pytest.mark.parametrize(("env", "is_json"), [("production", True), ("development", False)])
def test_jps_env_chooses_the_renderer(monkeypatch: pytest.MonkeyPatch, env: str, is_json: bool) -> None:
    monkeypatch.setenv("JPS_ENV", env)
    monkeypatch.setenv("JPS_LOG_LEVEL", "INFO")
    get_settings.cache_clear()
    root = logging.getLogger()
    try:
        configure_logging(force=True)  # start from the default: development
        import jps.logging as jps_logging

        jps_logging._configured = False  # a fresh process
        configure_from_settings(process="api")
        buffer = io.StringIO()
        root.handlers[0].setStream(buffer)  # type: ignore[attr-defined]
        structlog.get_logger().info("api_started")
        line = buffer.getvalue().strip()
        if is_json:
            assert json.loads(line)["process"] == "api"
        else:
            assert "api_started" in line and "process=api" in line
    finally:
        get_settings.cache_clear()
        structlog.contextvars.clear_contextvars()
        configure_logging(level="WARNING", force=True)
