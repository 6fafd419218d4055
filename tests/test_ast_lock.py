"""jps/ast_lock.py: a conversion between source, `ast` objects and code waits while another thread
converts; source compiled straight to code never waits. (The race itself, python/cpython#106905,
needs a thread switch inside the C converter: too rare to provoke in a test.)"""

from __future__ import annotations

import ast
import builtins
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
