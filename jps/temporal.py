"""Temporal plumbing shared by the worker, the API, the CLI and the tests: the data converter,
the custom search attributes (typed keys) and the client factory."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.common import SearchAttributeKey
from temporalio.contrib.pydantic import pydantic_data_converter

from jps.settings import Settings, get_settings

DATA_CONVERTER = pydantic_data_converter

SA_PROGRAM = SearchAttributeKey.for_keyword("JpsProgram")
SA_STAGE = SearchAttributeKey.for_keyword("JpsStage")
SA_REGION = SearchAttributeKey.for_keyword("JpsRegion")
SA_ESCALATION = SearchAttributeKey.for_int("JpsEscalationLevel")

SEARCH_ATTRIBUTES: tuple[SearchAttributeKey, ...] = (SA_PROGRAM, SA_STAGE, SA_REGION, SA_ESCALATION)


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
        s.temporal_address, namespace=s.temporal_namespace, data_converter=DATA_CONVERTER
    )


async def register_search_attributes(client: Client) -> None:
    """Register our custom search attributes (the time-skipping server needs it; idempotent)."""
    from temporalio.api.enums.v1 import IndexedValueType
    from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
    from temporalio.service import RPCError, RPCStatusCode

    wanted = {key.name: IndexedValueType.ValueType(key.indexed_value_type) for key in SEARCH_ATTRIBUTES}
    try:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=client.namespace, search_attributes=wanted)
        )
    except RPCError as err:  # already registered: nothing to do
        if err.status != RPCStatusCode.ALREADY_EXISTS:
            raise
