"""structlog, configured once per process: console lines in development, JSON in production.

The standard library's loggers (the Temporal SDK's `workflow.logger` / `activity.logger`, uvicorn)
go through the same processors via `ProcessorFormatter`, so one pipeline carries every event, with
the context bound through `structlog.contextvars` (group_id, workflow_id, officer) and NIKs masked.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any, TextIO

import structlog

from jps.domain.nik import mask_nik, mask_niks_in

_configured = False

# `uvicorn --log-config` file: uvicorn's loggers keep no handlers of their own and propagate to the root
# logger, which the app configures here, so its lines are ours too.
UVICORN_LOG_CONFIG = Path(__file__).with_name("uvicorn_logging.json")

_NIK_KEYS = ("nik", "member_nik", "leader_nik")
# A NIK as people write it, in groups of four (`3171-0145-0790-0001`, with spaces, dots, or a URL's
# `+` / `%20`): typed into the wrong field it reaches a log line (a status lookup's group id, the query
# string of an access line) though it is no 16-digit run.
_GROUPED_NIK = re.compile(r"(?<!\d)(\d{4})(-|\.| |\+|%20)(\d{4})\2(\d{4})\2(\d{4})(?!\d)")
_NIK_LIST_KEYS = ("niks", "attended_niks")
# Found in every text holding a NIK of either shape (16 digits in a run, or grouped by four): a text
# without it is left as it is, which spares most values (event names, ids, times) both substitutions.
_MAYBE_NIK = re.compile(r"\d{4}(?:\d|-\d|\.\d| \d|\+\d|%20\d)\d{3}")


def _drop_colour_copies(
    _logger: object, _name: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """uvicorn passes an ANSI-coloured copy of its message as an `extra`: noise in our lines."""
    event.pop("color_message", None)
    return event


def _mask_grouped(m: re.Match[str]) -> str:
    sep = m.group(2)
    return sep.join((m.group(1), "****", "****", m.group(5)))


def _mask_niks(_logger: object, _name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Last line of defence: NIK fields are masked, and so is any NIK-shaped number in a text value
    (an exception message, a Temporal SDK line that quotes an input) before rendering."""
    for key, value in event.items():
        if key in _NIK_KEYS and isinstance(value, str):
            event[key] = mask_nik(value)
        elif key in _NIK_LIST_KEYS and isinstance(value, list | tuple):
            event[key] = [mask_nik(n) if isinstance(n, str) else n for n in value]
        elif isinstance(value, str) and _MAYBE_NIK.search(value) is not None:
            event[key] = _GROUPED_NIK.sub(_mask_grouped, mask_niks_in(value))
    return event


def configure_logging(
    json: bool = False,
    level: str = "INFO",
    process: str | None = None,
    *,
    stream: TextIO | None = None,
    force: bool = False,
) -> None:
    """Configure structlog and the stdlib root logger once; later calls do nothing unless `force`."""
    global _configured
    if _configured and not force:
        return
    _configured = True
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
    ]
    if process:
        structlog.contextvars.bind_contextvars(process=process)
    renderer = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    # Tracebacks become text before masking, so a NIK inside an exception message is masked too.
    final: list[Any] = [
        structlog.stdlib.ProcessorFormatter.remove_processors_meta,
        structlog.processors.format_exc_info,
        _mask_niks,
        renderer,
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder(), _drop_colour_copies],
        processors=final,
    )
    # No line shows the caller's file and line, the thread or the process id (the process is bound
    # above): the standard library's own switches skip looking them up for every record.
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("httpx", "httpcore", "asyncio", "pgserver"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def configure_from_settings(process: str | None = None) -> None:
    """The usual entry point: JSON when JPS_ENV=production, level from JPS_LOG_LEVEL."""
    from jps.settings import get_settings

    settings = get_settings()
    configure_logging(json=settings.production, level=settings.log_level, process=process)
