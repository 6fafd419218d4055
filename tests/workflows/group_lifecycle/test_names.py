"""The workflow answers to the names the API's client uses (jps/contracts/names.py, the actions
table): a renamed update or query would strand every running group."""

from __future__ import annotations

from datetime import UTC, datetime

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.workflow import _Definition

from jps.contracts.names import (
    BUDGET_SIGNAL,
    PAYMENT_BATCH_SIGNAL,
    PAYMENT_SIGNAL,
    REGISTERED_UPDATE,
    STATE_QUERY,
    WORKFLOW_TYPE,
)
from jps.domain.actions import ACTIONS
from jps.domain.models import GroupSummary, StepResult
from jps.domain.programs import Program
from jps.domain.stages import Stage
from workflows.group_lifecycle import GroupLifecycleWorkflow


def test_the_workflow_answers_to_the_contract_names() -> None:
    defn = _Definition.must_from_class(GroupLifecycleWorkflow)
    assert defn.name == WORKFLOW_TYPE
    assert set(defn.updates) == {REGISTERED_UPDATE} | {spec.update_name for spec in ACTIONS.values()}
    assert set(defn.signals) == {PAYMENT_SIGNAL, PAYMENT_BATCH_SIGNAL, BUDGET_SIGNAL}
    assert STATE_QUERY in defn.queries


def test_officer_updates_answer_a_step_result_that_old_answers_decode_into() -> None:
    """Issue 15: an officer's update answers the step (group, seq, stage), not the whole summary that
    made up 43 % of a TKM history. An update answered by a worker still running the old code carries a
    GroupSummary: the API's client decodes it as a StepResult all the same."""
    defn = _Definition.must_from_class(GroupLifecycleWorkflow)
    for spec in ACTIONS.values():
        assert defn.updates[spec.update_name].ret_type is StepResult, spec.update_name
    old = GroupSummary(
        group_id="TKM-3171-AB12CD34EF",
        program=Program.TKM,
        name="Kelompok Maju",
        region_code="3171",
        stage=Stage.TRAINING,
        submitted_by="registrar-1",
        submitted_at=datetime(2026, 1, 5, tzinfo=UTC),
        requested_amount=10_000_000,
        seq=4,
    )
    converter = pydantic_data_converter.payload_converter
    (payload,) = converter.to_payloads([old])
    (step,) = converter.from_payloads([payload], [StepResult])
    assert step == StepResult(group_id="TKM-3171-AB12CD34EF", seq=4, stage=Stage.TRAINING)
