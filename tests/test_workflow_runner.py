"""infra.workflow_runner: with a converter that ignores serialization contexts (ours: the sealing
codec), the sandbox is no longer entered once per payload to ask for one; payloads are still
sealed, workflows still run sandboxed, and any converter that reads contexts keeps the stock runner.
infra.payload_visits: a workflow task's payloads walked once each way, with the same results."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any

import pytest
import temporalio.bridge.worker as bridge_worker
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.bridge.proto.workflow_activation import (
    SignalWorkflow,
    WorkflowActivation,
    WorkflowActivationJob,
)
from temporalio.converter import DataConverter, PayloadCodec, SerializationContext, WithSerializationContext
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker, WorkflowRunner
from temporalio.worker._command_aware_visitor import CommandAwarePayloadVisitor
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner
from temporalio.worker.workflow_sandbox._runner import _Instance

from infra import payload_visits
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


@pytest.fixture
def walks_per_task(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], list[int]]]:
    """Install the decode and encode in force (`use`), counting the walks each of their calls makes."""
    walked: list[int] = []
    counts: list[int] = []
    visit = CommandAwarePayloadVisitor.visit

    async def counting(self: CommandAwarePayloadVisitor, fs: Any, root: Any) -> None:
        walked.append(1)
        await visit(self, fs, root)

    def counted(call: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        async def run(*args: Any, **kwargs: Any) -> Any:
            walked.clear()
            result = await call(*args, **kwargs)
            counts.append(len(walked))
            return result

        return run

    def use() -> list[int]:
        counts.clear()
        monkeypatch.setattr(bridge_worker, "decode_activation", counted(bridge_worker.decode_activation))
        monkeypatch.setattr(bridge_worker, "encode_completion", counted(bridge_worker.encode_completion))
        return counts

    monkeypatch.setattr(CommandAwarePayloadVisitor, "visit", counting)
    monkeypatch.setattr(bridge_worker, "decode_activation", payload_visits._SDK_DECODE)
    monkeypatch.setattr(bridge_worker, "encode_completion", payload_visits._SDK_ENCODE)
    yield use


async def test_each_task_is_walked_once_each_way_and_still_sealed(
    time_env: WorkflowEnvironment, walks_per_task: Callable[[], list[int]]
) -> None:
    stock = walks_per_task()
    stock_result, _ = await _run_probe(time_env, SandboxedWorkflowRunner())
    stock_walks = list(stock)

    payload_visits.visit_once()
    once = walks_per_task()
    result, payloads = await _run_probe(time_env, SandboxedWorkflowRunner())

    assert result == stock_result == ["echo:echo:halo", "catatan", "sandboxed=True"]
    assert len(payloads) == 3 and all(p.metadata["encoding"] == SEALED for p in payloads)
    assert len(stock_walks) >= 6 and set(stock_walks) == {3}
    assert len(once) >= 6 and set(once) == {1}


async def test_a_storage_reference_without_storage_is_still_refused() -> None:
    """The single walk calls the same converter steps in the same order: their refusals stand."""
    converter = DataConverter.default
    reference = Payload(metadata={"encoding": b"json/external-storage-reference"}, data=b"{}")
    activation = WorkflowActivation(
        run_id="r",
        jobs=[WorkflowActivationJob(signal_workflow=SignalWorkflow(signal_name="s", input=[reference]))],
    )
    try:
        await payload_visits.decode_activation(activation, converter, True, 1)
    except RuntimeError as err:
        ours = str(err)
    else:
        ours = "accepted"
    try:
        await payload_visits._SDK_DECODE(activation, converter, True, 1)
    except RuntimeError as err:
        sdk = str(err)
    else:
        sdk = "accepted"
    assert ours == sdk
