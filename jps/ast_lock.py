"""One conversion between Python's C syntax tree and its `ast` objects at a time in this process.

CPython 3.11 keeps the converter's recursion depth per interpreter, not per conversion
(python/cpython#106905). Two threads converting at once, one parsing source into `ast` objects while
another compiles a tree or parses too, can each see the other's depth and raise `SystemError: AST
constructor recursion depth mismatch`. Such conversions happen in every process of ours: the 3.11
traceback module parses a line to place its carets when an exception is formatted (in a log call of
any thread), anyio parses a module's source on its first lazy import, pytest parses and compiles a
test module's rewritten tree on its first import. CI's fuzz run failed once on exactly this: an
import in the test's thread parsed while another thread of the test process converted.

Every such conversion goes through the builtin `compile`: `ast.parse` calls it with
`ast.PyCF_ONLY_AST`, a tree is compiled by handing it an `ast.AST`. `serialize_ast_conversion()`
replaces the builtin by one that takes a process-wide lock for those two kinds of call only; source
compiled to bytecode (every import) never waits. C code that converts without the builtin (none of
the packages we run) is not covered.

The lock alone does not cover a conversion re-entered in its own thread: the converter allocates, an
allocation can start a garbage collection, and a collected object's finalizer may format a traceback
(asyncio's "Future exception was never retrieved" does), which parses again inside the first
conversion. CI's fuzz run failed on exactly that with the lock in place. So a conversion also runs
with the cyclic collector paused. (A finalizer run when a reference count drops to zero is not
covered: the converter drops no reference to anything but its own nodes.)"""

from __future__ import annotations

import ast
import builtins
import gc
import threading
from typing import Any

LOCK = threading.RLock()  # re-entrant: a conversion that compiles again (ast.parse → compile)


def _converts(source: Any, flags: int) -> bool:
    return isinstance(source, ast.AST) or bool(flags & ast.PyCF_ONLY_AST)


def serialize_ast_conversion() -> None:
    """Install the locking `compile` (once; a second call changes nothing)."""
    if getattr(builtins.compile, "serializes_ast", False):
        return
    plain = builtins.compile

    def compile_alone(
        source: Any, filename: Any, mode: str, flags: int = 0, *args: Any, **kwargs: Any
    ) -> Any:
        if not _converts(source, flags):
            return plain(source, filename, mode, flags, *args, **kwargs)
        with LOCK:
            collecting = gc.isenabled()
            gc.disable()  # no finalizer may run, and convert, inside this conversion
            try:
                return plain(source, filename, mode, flags, *args, **kwargs)
            finally:
                if collecting:
                    gc.enable()

    compile_alone.serializes_ast = True  # type: ignore[attr-defined]
    compile_alone.plain = plain  # type: ignore[attr-defined]
    compile_alone.__doc__ = plain.__doc__
    builtins.compile = compile_alone
