"""Names that cross the Temporal boundary: a renamed string here strands running workflows, so each
is written once and imported everywhere (the workflow's decorators, the API's client, the tests).
The search attributes' keys are temporalio objects: `jps/search_attributes.py`."""

from __future__ import annotations

# The group lifecycle (one workflow per kelompok; workflow id = group id).
WORKFLOW_TYPE = "GroupLifecycleWorkflow"
REGISTERED_UPDATE = "registered"
STATE_QUERY = "state"
PAYMENT_SIGNAL = "payment_result"
# The bank's callbacks of one batch, every transfer answered (the API keeps them until then: migration 013).
PAYMENT_BATCH_SIGNAL = "payment_results"
BUDGET_SIGNAL = "budget_changed"

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
