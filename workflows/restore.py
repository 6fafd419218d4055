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


class Snapshot:
    """A model's values as they are now, to put back in place (`restore`) should the step that follows
    fail half-way. Kept as the model's plain dump and rebuilt only when a step fails: a dump is about
    a tenth of a deep copy's cost, and every officer's step takes a snapshot (profiled, the deep copy
    was 8 % of a worker's CPU). The models hold only data their validators accepted, so validating the
    dump gives them back equal (tests check it on the states of every lifecycle test)."""

    __slots__ = ("_model", "_values")

    def __init__(self, model: BaseModel) -> None:
        self._model = type(model)
        self._values = model.model_dump(round_trip=True)

    def restore(self, target: BaseModel) -> None:
        restore_in_place(target, self._model.model_validate(self._values))
