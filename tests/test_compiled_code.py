"""infra.compiled_code: a package the sandbox imports afresh each time is compiled once per file
version, and runs anew each time (its own module object, its own globals)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from infra.compiled_code import CompiledOnce, _CodeOnceLoader


def _fresh_import(name: str) -> object:
    for key in [k for k in sys.modules if k == name or k.startswith(name + ".")]:
        del sys.modules[key]
    return __import__(f"{name}.mod", fromlist=["mod"])


def test_compiles_each_file_version_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pkg = tmp_path / "cc_probe_pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    source = pkg / "mod.py"
    source.write_text("import itertools\nVALUE = 1\nRUNS = itertools.count()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(sys, "dont_write_bytecode", True)  # as in the image: no __pycache__
    compiled: list[str] = []
    real = _CodeOnceLoader.source_to_code

    def counting(self: _CodeOnceLoader, data: bytes, path: str, **kw: object) -> object:
        compiled.append(path)
        return real(self, data, path)

    monkeypatch.setattr(_CodeOnceLoader, "source_to_code", counting)
    finder = CompiledOnce(["cc_probe_pkg"])
    monkeypatch.setattr(sys, "meta_path", [finder, *sys.meta_path])

    first = _fresh_import("cc_probe_pkg")
    second = _fresh_import("cc_probe_pkg")
    assert first is not second and first.VALUE == second.VALUE == 1  # type: ignore[attr-defined]
    assert compiled.count(str(source)) == 1

    source.write_text("import itertools\nVALUE = 22\nRUNS = itertools.count()\n")  # another size
    os.utime(source, ns=(source.stat().st_atime_ns, source.stat().st_mtime_ns + 1_000_000))
    third = _fresh_import("cc_probe_pkg")
    assert third.VALUE == 22  # type: ignore[attr-defined]
    assert compiled.count(str(source)) == 2
    for key in [k for k in sys.modules if k.startswith("cc_probe_pkg")]:
        del sys.modules[key]
