"""jps/ast_lock.py: a conversion between source, `ast` objects and code waits while another thread
converts; source compiled straight to code never waits; a finalizer that parses cannot run inside a
conversion. (The race between threads, python/cpython#106905, needs a thread switch inside the C
converter: too rare to provoke in a test. Its same-thread form, a collection inside the converter whose
finalizer parses, is provoked below.)"""

from __future__ import annotations

import ast
import builtins
import gc
import threading
from collections.abc import Callable
from typing import Any

import pytest

from jps.ast_lock import LOCK, serialize_ast_conversion

SOURCE = "def f(a):\n    return [i for i in range(a) if i % 2]\n"


def _finishes_while_locked(convert: Callable[[], Any]) -> bool:
    """Hold the lock in this thread; does `convert` finish in another thread meanwhile?"""
    done = threading.Event()

    def run() -> None:
        convert()
        done.set()

    thread = threading.Thread(target=run, daemon=True)
    with LOCK:
        thread.start()
        finished = done.wait(0.5)
    thread.join(5)
    assert done.is_set(), "the conversion never finished after the lock was released"
    return finished


def test_the_session_runs_with_the_locking_compile() -> None:
    assert getattr(builtins.compile, "serializes_ast", False)
    plain = builtins.compile
    serialize_ast_conversion()  # a second install keeps the first
    assert builtins.compile is plain


@pytest.mark.parametrize(
    "convert",
    [
        lambda: ast.parse(SOURCE),
        lambda: compile(SOURCE, "<t>", "exec", ast.PyCF_ONLY_AST),
        lambda: compile(ast.parse(SOURCE), "<t>", "exec"),
        lambda: ast.literal_eval("[1, (2, 3), {'a': 4}]"),
    ],
    ids=["ast.parse", "compile to a tree", "compile a tree", "literal_eval"],
)
def test_a_conversion_waits_for_another(convert: Callable[[], Any]) -> None:
    assert not _finishes_while_locked(convert)


def test_source_compiled_to_code_never_waits() -> None:
    assert _finishes_while_locked(lambda: compile(SOURCE, "<t>", "exec"))


def test_the_locking_compile_answers_as_the_builtin() -> None:
    code = compile("x = 6 * 7", "<t>", "exec")
    scope: dict[str, Any] = {}
    exec(code, scope)
    assert scope["x"] == 42
    tree = compile("y = 1", "<t>", "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)
    assert isinstance(tree, ast.Module) and isinstance(tree.body[0], ast.Assign)
    with pytest.raises(SyntaxError):
        compile("def (", "<t>", "exec")


BIG_SOURCE = "\n".join(f"def f{i}(a):\n    return [x for x in range(a) if x % {i + 2}]" for i in range(200))


class _ParsesWhenCollected:
    """Garbage only the collector frees (a cycle), whose finalizer parses, as asyncio's "exception
    never retrieved" finalizer formats a traceback (which on 3.11 parses the line for its carets),
    and leaves the next such garbage behind: whenever a collection starts, one is waiting."""

    parsed = 0

    def __init__(self, generations: int) -> None:
        self.me = self
        self.generations = generations

    def __del__(self) -> None:
        ast.parse("x = [1, 2, 3]")
        _ParsesWhenCollected.parsed += 1
        if self.generations > 1:
            _ParsesWhenCollected(self.generations - 1)


GENERATIONS = 300


def _parse_with_finalizers_due(convert: Callable[[str], Any]) -> int:
    """Make every allocation start a collection, with such garbage always waiting, and convert a
    large source. Answers how many finalizers had run when it was called (fewer than GENERATIONS, or
    none was waiting)."""
    threshold = gc.get_threshold()
    gc.collect()
    _ParsesWhenCollected(GENERATIONS)
    gc.set_threshold(1, 100_000, 100_000)  # young collections only: cheap, and the garbage is young
    try:
        began_with = _ParsesWhenCollected.parsed
        convert(BIG_SOURCE)
    finally:
        gc.set_threshold(*threshold)
        while gc.collect(0) or gc.collect():  # the rest of the chain, young collections first
            pass
    return began_with


def test_a_finalizer_parsing_inside_a_conversion_breaks_the_plain_builtin() -> None:
    # The failure the locking compile prevents, shown on the builtin itself (so the next test's pass
    # is not for want of the collector running). On a Python that fixed cpython#106905 this fails:
    # jps/ast_lock.py can then go.
    plain = builtins.compile.plain  # type: ignore[attr-defined]
    with pytest.raises(SystemError, match="recursion depth mismatch"):
        _parse_with_finalizers_due(lambda src: plain(src, "<t>", "exec", ast.PyCF_ONLY_AST))


def test_no_finalizer_parses_inside_a_conversion() -> None:
    start = _ParsesWhenCollected.parsed
    began_with = _parse_with_finalizers_due(ast.parse)  # no SystemError
    assert began_with - start < GENERATIONS  # garbage was waiting when the conversion began
    assert gc.isenabled()  # the collector runs again once the conversion is done
    assert _ParsesWhenCollected.parsed - start == GENERATIONS  # every finalizer ran, outside it
