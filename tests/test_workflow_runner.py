"""infra.workflow_runner: with a converter that ignores serialization contexts (ours: the sealing
codec), the sandbox is no longer entered once per payload to ask for one; payloads are still
sealed, workflows still run sandboxed, and any converter that reads contexts keeps the stock runner."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.converter import DataConverter, PayloadCodec, SerializationContext, WithSerializationContext
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner
from temporalio.worker.workflow_sandbox._runner import _Instance

from infra.workflow_runner import WorkflowContextSandbox, ignores_serialization_context, workflow_runner
from tests.workflows.context_probe import ContextProbe, probe_echo

SEALED = b"binary/encrypted"


class ContextReadingCodec(PayloadCodec, WithSerializationContext):
    """A codec that would seal each activity's payloads apart: it needs the context."""

    def __init__(self, context: SerializationContext | None = None) -> None:
        self.context = context

    def with_context(self, context: SerializationContext) -> ContextReadingCodec:
        return ContextReadingCodec(context)

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return list(payloads)

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return list(payloads)


def test_our_converter_ignores_contexts_and_gets_the_lighter_sandbox(time_env: WorkflowEnvironment) -> None:
    assert ignores_serialization_context(time_env.client.data_converter)
    assert type(workflow_runner(time_env.client.data_converter)) is WorkflowContextSandbox


def test_a_converter_that_reads_contexts_keeps_the_stock_sandbox() -> None:
    reading = dataclasses.replace(DataConverter.default, payload_codec=ContextReadingCodec())
    assert not ignores_serialization_context(reading)
    assert type(workflow_runner(reading)) is SandboxedWorkflowRunner


@pytest.fixture
def sandbox_questions(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The serialization questions asked inside the sandbox (each an exec there)."""
    asked: list[str] = []
    run_code = _Instance._run_code

    def counting(self: _Instance, code: str, **extra: Any) -> None:
        if "get_serialization_context" in code or "get_external_store_context" in code:
            asked.append(code)
        run_code(self, code, **extra)

    monkeypatch.setattr(_Instance, "_run_code", counting)
    yield asked


async def _run_probe(env: WorkflowEnvironment, runner: WorkflowRunner) -> tuple[list[str], list[Payload]]:
    queue = f"probe-{uuid.uuid4().hex[:8]}"
    async with Worker(
        env.client,
        task_queue=queue,
        workflows=[ContextProbe],
        activities=[probe_echo],
        workflow_runner=runner,
    ):
        handle = await env.client.start_workflow(
            ContextProbe.run, "halo", id=f"probe-{uuid.uuid4().hex[:8]}", task_queue=queue
        )
        assert await handle.execute_update(ContextProbe.note, "catatan") == 1
        result = await handle.result()
    payloads: list[Payload] = []
    async for event in handle.fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            payloads += event.activity_task_scheduled_event_attributes.input.payloads
        if event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED:
            payloads += event.marker_recorded_event_attributes.details["result"].payloads
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
            payloads += event.workflow_execution_completed_event_attributes.result.payloads
    return result, payloads


async def test_the_workflow_runs_sandboxed_and_sealed_without_asking_inside(
    time_env: WorkflowEnvironment, sandbox_questions: list[str]
) -> None:
    result, payloads = await _run_probe(time_env, workflow_runner(time_env.client.data_converter))
    assert result == ["echo:echo:halo", "catatan", "sandboxed=True"]
    assert sandbox_questions == []
    assert len(payloads) == 3 and all(p.metadata["encoding"] == SEALED for p in payloads)


async def test_the_stock_sandbox_asks_inside_for_every_payload(
    time_env: WorkflowEnvironment, sandbox_questions: list[str]
) -> None:
    """The counter above sees the questions when they are asked: its zero is not for want of looking."""
    result, payloads = await _run_probe(time_env, SandboxedWorkflowRunner())
    assert result == ["echo:echo:halo", "catatan", "sandboxed=True"]
    assert len(sandbox_questions) >= 6
    assert all(p.metadata["encoding"] == SEALED for p in payloads)
