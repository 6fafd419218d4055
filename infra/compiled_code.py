"""The workflow packages' compiled code, kept in the worker's memory for its life.

Temporal's workflow sandbox imports a workflow's modules afresh for every workflow instance it
creates (each new group, and each group evicted from the sticky cache and brought back). Python
then loads each module's bytecode from `__pycache__`, or compiles the source when there is none:
with `PYTHONDONTWRITEBYTECODE=1` (our image, the bench's environment) or a read-only tree nothing is
ever cached, so the worker compiled the lifecycle's twenty modules for every group it started. In a
profiled import of 307 groups that was 43 % of the worker's CPU, and the worker was the bottleneck.

`compile_once("workflows")` puts a finder first on `sys.meta_path` that hands those packages'
imports a loader compiling each file once per process. A file is known by its path, modification
time and size, so an edited module is compiled anew; the module's code itself still runs for each
instance, as the sandbox intends (its own globals, its own restricted imports).
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import os
import sys
from collections.abc import Sequence
from types import CodeType, ModuleType
from typing import ClassVar


class _CodeOnceLoader(importlib.machinery.SourceFileLoader):
    _codes: ClassVar[dict[tuple[str, int, int], CodeType]] = {}

    def get_code(self, fullname: str) -> CodeType | None:
        path = self.get_filename(fullname)
        st = os.stat(path)
        key = (path, st.st_mtime_ns, st.st_size)
        code = self._codes.get(key)
        if code is None:
            code = super().get_code(fullname)
            if code is not None:
                self._codes[key] = code
        return code


class CompiledOnce(importlib.abc.MetaPathFinder):
    """Finds the named packages' modules as the path finder does, with a loader that compiles once."""

    def __init__(self, packages: Sequence[str]) -> None:
        self.packages = tuple(packages)

    def _ours(self, fullname: str) -> bool:
        return any(fullname == p or fullname.startswith(p + ".") for p in self.packages)

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if not self._ours(fullname):
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        if spec is None or type(spec.loader) is not importlib.machinery.SourceFileLoader:
            return spec  # a namespace package, an extension, a zip: as Python would load it
        spec.loader = _CodeOnceLoader(spec.loader.name, spec.loader.path)
        return spec


def compile_once(*packages: str) -> CompiledOnce:
    """Install the finder for `packages` (once per process; a second call adds nothing)."""
    for finder in sys.meta_path:
        if isinstance(finder, CompiledOnce) and finder.packages == packages:
            return finder
    finder = CompiledOnce(packages)
    sys.meta_path.insert(0, finder)
    return finder
