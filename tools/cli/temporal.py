"""`jps temporal-setup`: the namespace and our search attributes on a Temporal server we did not start."""

from __future__ import annotations

import asyncio

from jps.settings import get_settings
from tools.cli.common import console, setup_logging


def temporal_setup() -> None:
    """Create the Temporal namespace if missing and register our search attributes.

    Idempotent. For a Temporal server we did not start (docker-compose, a data centre); `jps dev` does
    this itself."""
    from infra.temporal import connect, ensure_namespace, register_search_attributes

    setup_logging("temporal-setup")
    settings = get_settings()

    async def setup() -> None:
        import time

        from temporalio.service import RPCError, RPCStatusCode

        client = await connect(settings)
        await ensure_namespace(client)
        # A namespace just created reaches the server's namespace cache some seconds later; until then
        # the operator service answers NOT_FOUND.
        deadline = time.monotonic() + 60
        while True:
            try:
                await register_search_attributes(client)
                return
            except RPCError as err:
                if err.status != RPCStatusCode.NOT_FOUND or time.monotonic() > deadline:
                    raise
                await asyncio.sleep(1)

    asyncio.run(setup())
    console.print(f"namespace {settings.temporal_namespace!r} ready at {settings.temporal_address}")
