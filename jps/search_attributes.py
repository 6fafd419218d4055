"""The lifecycle's search attributes: typed keys (`SearchAttributeKey.for_keyword(...)`), the list
the namespace registers, and the ones a new group starts with. Names that cross the Temporal
boundary like those in `jps.contracts.names`, kept apart from them because they are temporalio
objects: the contracts package depends on pydantic and the domain only."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes

from jps.domain.stages import EscalationLevel, Stage

SA_PROGRAM = SearchAttributeKey.for_keyword("JpsProgram")
SA_STAGE = SearchAttributeKey.for_keyword("JpsStage")
SA_REGION = SearchAttributeKey.for_keyword("JpsRegion")
SA_ESCALATION = SearchAttributeKey.for_int("JpsEscalationLevel")

SEARCH_ATTRIBUTES: tuple[SearchAttributeKey, ...] = (SA_PROGRAM, SA_STAGE, SA_REGION, SA_ESCALATION)


def starting_search_attributes(program: str, region_code: str) -> TypedSearchAttributes:
    """A new group's search attributes, given with its start (stage `verification`, no escalation):
    the workflow upserts only what changes, so a group started with them has no upsert of its own at
    registration (one history event fewer). A group started without them is upserted as before."""
    return TypedSearchAttributes(
        [
            SearchAttributePair(SA_PROGRAM, program),
            SearchAttributePair(SA_STAGE, Stage.VERIFICATION.value),
            SearchAttributePair(SA_REGION, region_code),
            SearchAttributePair(SA_ESCALATION, int(EscalationLevel.NONE)),
        ]
    )
