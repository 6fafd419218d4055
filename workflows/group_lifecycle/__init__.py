"""The group lifecycle: one workflow type, `GroupLifecycleWorkflow`, built from one module per stage.

workflow.py      the workflow type: start, main loop, registration, the `state` query
base.py          state, lock, task board, the recording of a step, the officer-step guard
guards.py        role, region, stage and task checks (pure)
tasks.py         open tasks and their escalating timers
proposal.py      resubmit, verify
training.py      schedule training, record attendance, the supervisor's decision
disbursement.py  approve (maker), authorize (checker), fix bank details, release a worker's share
payments.py      reserve, record, instruct, hear the bank, settle (automated)
bank.py          the bank's status decides: send, ask until final, poll, investigate, freeze, continue-as-new
budget.py        the budget reservation (a local activity since leaner-history-v1)
mentoring.py     visits and the completion
lpj.py           TKM's LPJ beside mentoring (policy `lpj`, patch lpj-v1)
recovery.py      the receivable: repayments, write-off
muster.py        Padat Karya's weekly muster rolls (policy `wages`, patch weekly-wages-v1)
wage_release.py  release and authorize a week's wages
wages.py         the weekly wage run and the end of the work period
claims.py        cancel, claim a task
money.py         the disbursement's arithmetic (pure, tested on its own)
wage_money.py    the weekly wage run's arithmetic (pure, tested on its own)
options.py       activity timeouts and retry policies
patches.py       workflow.patched ids

The sandbox runs the package afresh for every workflow instance (each new group, each group brought
back into the worker's cache). Its pure modules (no workflow API, no I/O, no module state that
changes: functions and constants) are passed through instead: imported once per process and shared
by every instance, as the SDK advises for models and deterministic code. They are passed through
here, first and by their full names: `from workflows.group_lifecycle import patches` would load the
module in the sandbox (a from-list import does not ask the sandbox), and once they are here every
module's import of them, in either form, finds them. A module that uses the workflow API or defines
part of the workflow class stays in the sandbox.
"""

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    import workflows.group_lifecycle.guards as guards
    import workflows.group_lifecycle.money as money
    import workflows.group_lifecycle.options as options
    import workflows.group_lifecycle.patches as patches
    import workflows.group_lifecycle.wage_money as wage_money

from workflows.group_lifecycle.workflow import GroupLifecycleWorkflow

__all__ = ["GroupLifecycleWorkflow", "guards", "money", "options", "patches", "wage_money"]
