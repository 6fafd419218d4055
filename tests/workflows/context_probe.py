"""A small sandboxed workflow for tests/test_workflow_runner.py: it schedules an activity and a local
activity, answers an update, and says whether it ran inside the sandbox (kept apart from the test so
the sandbox imports nothing of pytest)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow


@activity.defn(name="probe_echo")
async def probe_echo(text: str) -> str:
    return f"echo:{text}"


@workflow.defn(name="ContextProbe")
class ContextProbe:
    def __init__(self) -> None:
        self.notes: list[str] = []

    @workflow.run
    async def run(self, text: str) -> list[str]:
        remote = await workflow.execute_activity(
            probe_echo, text, start_to_close_timeout=timedelta(seconds=10)
        )
        local = await workflow.execute_local_activity(
            probe_echo, remote, start_to_close_timeout=timedelta(seconds=10)
        )
        await workflow.wait_condition(lambda: bool(self.notes))
        return [local, *self.notes, f"sandboxed={workflow.unsafe.in_sandbox()}"]

    @workflow.update
    async def note(self, text: str) -> int:
        self.notes.append(text)
        return len(self.notes)
