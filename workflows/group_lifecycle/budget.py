"""The budget reservation as the lifecycle calls it: for a run started under
`patches.LEANER_HISTORY` a local activity (one marker in the history instead of three activity
events and a workflow task of their own), falling back to the ordinary activity when the database
does not answer within LOCAL_RECORD_WITHIN.

`reserve_budget` is one short transaction, idempotent by the request's reservation id
(`{group}:{attempt}`, the primary key of budget_reservations): a retry, or the ordinary activity
after a local attempt that committed late, answers the reservation already made; two attempts at
once cannot both reserve (the second one's insert fails and rolls its transaction back, then its
retry finds the first). A frozen programme or a short budget is an answer (`BudgetResult`), not
an error: whatever fails here is the database, never a refusal.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.ledger import LedgerActivities
    from jps.contracts.activities import BudgetRequest, BudgetResult

from workflows.group_lifecycle.local import written_once


async def reserve(request: BudgetRequest, *, local: bool) -> BudgetResult:
    """Check the freeze and reserve the budget for `request` (one transaction); `local` for a run
    started under LEANER_HISTORY."""
    return await written_once(LedgerActivities.reserve_budget, request, local=local)
