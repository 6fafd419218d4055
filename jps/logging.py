"""structlog, configured once per process: console lines in development, JSON in production.

The standard library's loggers (the Temporal SDK's `workflow.logger` / `activity.logger`, uvicorn)
go through the same processors via `ProcessorFormatter`, so one pipeline carries every event.
"""

from __future__ import annotations

import logging
import sys

import structlog

from jps.domain.nik import mask_nik

_configured = False


def _mask_niks(_logger: object, _name: str, event: dict) -> dict:
    """Last line of defence: any field called nik/niks is masked before rendering."""
    for key in ("nik", "member_nik"):
        if isinstance(event.get(key), str):
            event[key] = mask_nik(event[key])
    if isinstance(event.get("niks"), list):
        event["niks"] = [mask_nik(n) if isinstance(n, str) else n for n in event["niks"]]
    return event


def configure_logging(json: bool = False, level: str = "INFO", process: str | None = None) -> None:
    global _configured
    if _configured:
        return
    _configured = True
    shared: list = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _mask_niks,
    ]
    if process:
        structlog.contextvars.bind_contextvars(process=process)
    renderer = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder()],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("httpx", "httpcore", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
