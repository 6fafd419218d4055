"""Names that cross the Temporal boundary: a renamed string here strands running workflows, so each
is written once and imported everywhere (the workflow's decorators, the API's client, the tests)."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes
from temporalio.contrib.pydantic import pydantic_data_converter

from jps.domain.stages import EscalationLevel, Stage

# The payload converter only. Every client and worker adds the sealing codec to it
# (`jps.sealing.sealed_converter`, keys from `infra.payload_keys.data_converter`): use that.
DATA_CONVERTER = pydantic_data_converter

# The group lifecycle (one workflow per kelompok; workflow id = group id).
WORKFLOW_TYPE = "GroupLifecycleWorkflow"
REGISTERED_UPDATE = "registered"
STATE_QUERY = "state"
PAYMENT_SIGNAL = "payment_result"
BUDGET_SIGNAL = "budget_changed"

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


# Grievances (pengaduan; issue 14): one workflow per case, workflow id = grievance id (`GRV-…`). The
# officers' steps are updates named `grievance_<action>` (`jps.domain.grievances.GRIEVANCE_ACTIONS`).
GRIEVANCE_WORKFLOW_TYPE = "GrievanceWorkflow"
GRIEVANCE_FILED_UPDATE = "grievance_filed"  # update-with-start: answers once the case is written
GRIEVANCE_PROVIDE_INFO_UPDATE = "grievance_provide_info"  # the complainant answers (web or SMS)
GRIEVANCE_COMPLAINANT_REOPEN_UPDATE = "grievance_complainant_reopen"
GRIEVANCE_STATE_QUERY = "grievance_state"

# Post-payment verification (issue 14): the daily draw, each sampled person's check and its answer.
VERIFICATION_DAY_WORKFLOW = "DailyVerificationWorkflow"
PAYMENT_CHECK_WORKFLOW = "PaymentCheckWorkflow"
PAYMENT_ANSWER_SIGNAL = "payment_answer"
