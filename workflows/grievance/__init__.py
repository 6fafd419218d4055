"""Grievances (pengaduan): one workflow type, `GrievanceWorkflow`, one workflow per case.

workflow.py   the workflow type: filing, registration, the main loop, the `grievance_state` query
steps.py      the officers' and the complainant's steps (updates with validators)
base.py       state, lock, the open task, the recording of a step, the bank's status
guards.py     who may take a step, and the complainant's proof (pure)
deadlines.py  the durable waits: the open task's escalating timers, the answer and archiving timers
"""

from workflows.grievance.workflow import GrievanceWorkflow

__all__ = ["GrievanceWorkflow"]
