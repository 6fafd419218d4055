"""`jps temporal-setup`: what a Temporal server we did not start (docker-compose, a data centre) needs,
made on a real dev server started bare (no namespace of ours, no search attributes)."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid

from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from infra.embedded import temporal_cli_path
from jps.search_attributes import SEARCH_ATTRIBUTES
from jps.settings import PROJECT_ROOT
from tests.conftest import SEALING_CONVERTER


async def custom_attributes(client: Client) -> dict[str, int]:
    listed = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=client.namespace)
    )
    return dict(listed.custom_attributes)


async def test_temporal_setup_creates_the_namespace_and_search_attributes_idempotently() -> None:
    env = await WorkflowEnvironment.start_local(
        data_converter=SEALING_CONVERTER, dev_server_existing_path=temporal_cli_path(), ui=False
    )
    try:
        address = env.client.service_client.config.target_host
        namespace = f"jps-{uuid.uuid4().hex[:8]}"
        cmd_env = {**os.environ, "TEMPORAL_ADDRESS": address, "TEMPORAL_NAMESPACE": namespace}
        for _ in range(2):  # the second run finds everything in place
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "tools.cli",
                "temporal-setup",
                cwd=PROJECT_ROOT,
                env=cmd_env,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )
            output = (await asyncio.wait_for(proc.communicate(), 90))[0].decode()
            assert proc.returncode == 0, output
            assert f"namespace '{namespace}' ready" in output

        client = await Client.connect(address, namespace=namespace)
        found = await custom_attributes(client)
        assert {key.name for key in SEARCH_ATTRIBUTES} <= set(found)
    finally:
        await env.shutdown()
