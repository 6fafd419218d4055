"""The workflow answers to the names the API's client uses (jps/contracts/names.py, the actions
table): a renamed update or query would strand every running group."""

from __future__ import annotations

from temporalio.workflow import _Definition

from jps.contracts.names import BUDGET_SIGNAL, PAYMENT_SIGNAL, REGISTERED_UPDATE, STATE_QUERY, WORKFLOW_TYPE
from jps.domain.actions import ACTIONS
from workflows.group_lifecycle import GroupLifecycleWorkflow


def test_the_workflow_answers_to_the_contract_names() -> None:
    defn = _Definition.must_from_class(GroupLifecycleWorkflow)
    assert defn.name == WORKFLOW_TYPE
    assert set(defn.updates) == {REGISTERED_UPDATE} | {spec.update_name for spec in ACTIONS.values()}
    assert set(defn.signals) == {PAYMENT_SIGNAL, BUDGET_SIGNAL}
    assert STATE_QUERY in defn.queries
