"""The workflow sandbox, without entering it once per payload to ask for a serialization context.

Before it encodes or decodes a workflow task's payloads, temporalio asks the workflow instance which
serialization context each payload belongs to (the workflow's, or an activity's or a child's), and
which external-storage target: for a sandboxed instance each question is an `exec` inside the
sandbox with its importer applied. The answers only matter to a data converter that reads them. Ours
does not: the sealing codec seals every payload with the same key whatever it belongs to, the JSON
converter writes the same bytes, and there is no external storage. Profiled during a bulk approval
(769 groups, two workers) those questions were 22 % of a worker's active CPU, five times the
workflow code's own activations.

`workflow_runner(converter)` answers them outside the sandbox, with the workflow's own context, when
`ignores_serialization_context(converter)` holds (checked against a workflow, an activity, a child
workflow and a Nexus context); for any other converter it is the stock sandbox. Everything else, the
sandbox's restrictions and the workflow's own code, is the stock runner's.
"""

from __future__ import annotations

from temporalio.converter import (
    ActivitySerializationContext,
    DataConverter,
    NexusSerializationContext,
    SerializationContext,
    WorkflowSerializationContext,
)
from temporalio.converter._extstore import StorageDriverStoreContext, StorageDriverWorkflowInfo
from temporalio.worker import WorkflowRunner
from temporalio.worker._command_aware_visitor import CommandInfo
from temporalio.worker._workflow_instance import WorkflowInstance, WorkflowInstanceDetails
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner
from temporalio.worker.workflow_sandbox._runner import _Instance

_PROBES: tuple[SerializationContext, ...] = (
    WorkflowSerializationContext(namespace="probe", workflow_id="probe-workflow"),
    ActivitySerializationContext(
        namespace="probe",
        workflow_id="probe-workflow",
        workflow_type="Probe",
        activity_type="probe_activity",
        activity_task_queue="probe-queue",
        is_local=True,
        activity_id="1",
    ),
    WorkflowSerializationContext(namespace="probe", workflow_id="probe-child"),
    NexusSerializationContext(endpoint="probe-endpoint", service="probe-service", operation="probe-op"),
)


def ignores_serialization_context(converter: DataConverter) -> bool:
    """True when every context gives back this very converter and no external storage is set: then
    a payload's bytes do not depend on what it belongs to."""
    return converter.external_storage is None and all(
        converter.with_context(context) is converter for context in _PROBES
    )


class _WorkflowContextInstance(_Instance):
    """A sandboxed instance that names its own workflow as every payload's context, from outside."""

    def __init__(self, details: WorkflowInstanceDetails, runner: SandboxedWorkflowRunner) -> None:
        super().__init__(details, runner.runner_class, runner.restrictions)
        info = details.info
        self._serialization_context = WorkflowSerializationContext(
            namespace=info.namespace, workflow_id=info.workflow_id
        )
        self._store_context = StorageDriverStoreContext(
            target=StorageDriverWorkflowInfo(
                id=info.workflow_id, run_id=info.run_id, type=info.workflow_type, namespace=info.namespace
            )
        )

    def get_serialization_context(self, command_info: CommandInfo | None) -> SerializationContext | None:
        return self._serialization_context

    def get_external_store_context(self, command_info: CommandInfo | None) -> StorageDriverStoreContext:
        return self._store_context


class WorkflowContextSandbox(SandboxedWorkflowRunner):
    """The stock sandbox whose instances answer serialization questions without entering it."""

    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        return _WorkflowContextInstance(det, self)


def workflow_runner(converter: DataConverter) -> WorkflowRunner:
    """The runner for a worker whose client uses `converter`."""
    if ignores_serialization_context(converter):
        return WorkflowContextSandbox()
    return SandboxedWorkflowRunner()
