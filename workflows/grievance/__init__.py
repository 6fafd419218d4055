"""Grievances (pengaduan): one workflow type, `GrievanceWorkflow`, one workflow per case.

workflow.py   the workflow type: filing, the main loop, the steps (updates), the `grievance_state` query
guards.py     who may take a step, and the complainant's proof (pure)
deadlines.py  the case's one open task and the durable timers that escalate it
"""

from workflows.grievance.workflow import GrievanceWorkflow

__all__ = ["GrievanceWorkflow"]
