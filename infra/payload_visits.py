"""Each workflow task's payloads walked once, not three times, when there is no external storage.

temporalio decodes an activation in three walks over its protobuf (storage references, external
storage, then the codec) and encodes a completion in three more (the codec, external storage, storage
references), each a Python visit of every job and command. Without external storage two of the
three only look at each payload and hand it back. Profiled in the closed loop (769 groups, two
workers) the walks were a fifth of a worker's active CPU, the sealing itself a quarter of that.

`visit_once()` makes the SDK's two functions do the three steps on each payload sequence in a single
walk, in the same order, through the same data converter methods (so the same errors: a storage
reference with no storage configured is refused as before), when the converter has no external
storage; with one it calls the SDK's own functions. Installed once per process by worker.py (and the
test session, so every workflow test runs as the worker does).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

import temporalio.bridge.worker as bridge_worker
from temporalio.api.common.v1 import Payload
from temporalio.bridge.proto.workflow_activation import WorkflowActivation
from temporalio.bridge.proto.workflow_completion import WorkflowActivationCompletion
from temporalio.converter import DataConverter
from temporalio.converter._extstore import StorageOperationMetrics
from temporalio.worker._command_aware_visitor import CommandAwarePayloadVisitor

Step = Callable[[Sequence[Payload]], Awaitable[list[Payload]]]

_SDK_DECODE = bridge_worker.decode_activation
_SDK_ENCODE = bridge_worker.encode_completion


def _chained(*steps: Step) -> Step:
    async def run(payloads: Sequence[Payload]) -> list[Payload]:
        out = list(payloads)
        for step in steps:
            out = await step(out)
        return out

    return run


async def _walk_once(
    message: WorkflowActivation | WorkflowActivationCompletion, headers: bool, *steps: Step
) -> StorageOperationMetrics:
    """One walk over `message`, each payload sequence through `steps` in order."""
    metrics = StorageOperationMetrics()
    with metrics.track():
        visitor = CommandAwarePayloadVisitor(skip_search_attributes=True, skip_headers=not headers)
        await visitor.visit(bridge_worker._Visitor(_chained(*steps)), message)
    return metrics


async def decode_activation(
    activation: WorkflowActivation,
    data_converter: DataConverter,
    decode_headers: bool,
    storage_concurrency_limit: int,
) -> StorageOperationMetrics:
    dc = data_converter
    if dc.external_storage is not None:
        return await _SDK_DECODE(activation, dc, decode_headers, storage_concurrency_limit)
    return await _walk_once(
        activation,
        decode_headers,
        dc._decode_reference_payload_sequence,
        dc._external_retrieve_payload_sequence,
        dc._decode_payload_sequence,
    )


async def encode_completion(
    completion: WorkflowActivationCompletion,
    data_converter: DataConverter,
    encode_headers: bool,
    storage_concurrency_limit: int,
) -> StorageOperationMetrics:
    dc = data_converter
    if dc.external_storage is not None:
        return await _SDK_ENCODE(completion, dc, encode_headers, storage_concurrency_limit)
    return await _walk_once(
        completion,
        encode_headers,
        dc._encode_payload_sequence,
        dc._external_store_payload_sequence,
        dc._encode_reference_payload_sequence,
    )


def visit_once() -> None:
    """Install the single walks in place of the SDK's (idempotent)."""
    bridge_worker.decode_activation = decode_activation
    bridge_worker.encode_completion = encode_completion
