"""The group lifecycle: one workflow type, `GroupLifecycleWorkflow`, built from one module per stage.

workflow.py      the workflow type: start, main loop, registration, the `state` query
base.py          state, lock, task board, the recording of a step, the officer-step guard
guards.py        role, region, stage and task checks (pure)
tasks.py         open tasks and their escalating timers
proposal.py      resubmit, verify
training.py      schedule training, record attendance, the supervisor's decision
disbursement.py  approve (maker), authorize (checker), fix bank details
payments.py      reserve, record, instruct, hear the bank, settle (automated)
mentoring.py     visits and the completion
claims.py        cancel, claim a task
money.py         the disbursement's arithmetic (pure, tested on its own)
options.py       activity timeouts and retry policies
patches.py       workflow.patched ids
"""

from workflows.group_lifecycle.workflow import GroupLifecycleWorkflow

__all__ = ["GroupLifecycleWorkflow"]
