"""Putting a workflow's state model back after a step that failed half-way, in place. Pure (no
workflow API, no module state): both workflow types pass it through the sandbox, so it is imported
once per worker process, and the grievance workflow takes it without importing the group lifecycle."""

from __future__ import annotations

from pydantic import BaseModel


def restore_in_place(target: BaseModel, source: BaseModel) -> None:
    """Put `source`'s values back into `target` without replacing `target`'s nested models, lists or
    dicts: the main loop and the task board hold references to them across awaits."""
    for name in type(target).model_fields:
        old, new = getattr(target, name), getattr(source, name)
        if isinstance(old, BaseModel) and type(old) is type(new):
            restore_in_place(old, new)
        elif isinstance(old, list) and isinstance(new, list):
            old[:] = new
        elif isinstance(old, dict) and isinstance(new, dict):
            old.clear()
            old.update(new)
        else:
            setattr(target, name, new)
