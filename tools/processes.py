"""The local stack's child processes: each started in its own process group with its output teed to
a log file (and, prefixed with its name, to the console), asked by the kernel to stop should the
launcher die (PR_SET_PDEATHSIG), and stopped as a group: SIGTERM, then SIGKILL after a timeout.
`tools.stack` composes the stack from them; the bench starts its extra workers with them too."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import structlog
from rich.console import Console
from rich.text import Text

from jps.settings import PROJECT_ROOT

log = structlog.get_logger()

_PR_SET_PDEATHSIG = 1


def _set_pdeathsig() -> Callable[[], None] | None:
    """A preexec_fn asking the kernel to SIGTERM the child when the launcher dies (Linux only).

    The libc function is resolved here, in the parent, so the child only makes one syscall
    between fork and exec."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)

    return preexec


@dataclass
class Child:
    """One process of the stack, with its output teed to a log file (and the console)."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    colour: str = "white"
    echo: bool = True
    proc: subprocess.Popen[bytes] | None = None
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=40))
    _reader: threading.Thread | None = None

    def start(self, console: Console) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            self.argv,
            cwd=PROJECT_ROOT,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: a stop reaches its whole tree
            preexec_fn=_set_pdeathsig(),
        )
        stream = self.proc.stdout
        assert stream is not None
        self._reader = threading.Thread(
            target=self._pump, args=(stream, console), name=f"log-{self.name}", daemon=True
        )
        self._reader.start()

    def _pump(self, stream: IO[bytes], console: Console) -> None:
        with self.log_path.open("ab") as sink:
            for raw in iter(stream.readline, b""):
                sink.write(raw)
                sink.flush()
                line = raw.decode(errors="replace").rstrip()
                self.tail.append(line)
                if self.echo and line:
                    prefix = Text(f"{self.name:>8} │ ", style=self.colour)
                    console.print(prefix + Text(line), highlight=False, soft_wrap=True)

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def exited(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    def signal_group(self, sig: signal.Signals) -> None:
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, sig)

    def describe_failure(self) -> str:
        lines = "\n".join(f"    {line}" for line in list(self.tail)[-20:])
        return f"{self.name} exited with code {self.exited()}; last lines of {self.log_path}:\n{lines}"

    def join_reader(self, timeout: float) -> None:
        if self._reader is not None:
            self._reader.join(timeout)


def stop_children(children: list[Child], timeout: float) -> None:
    """SIGTERM each child's process group, wait, then SIGKILL whatever is left of it."""
    for child in children:
        child.signal_group(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for child in children:
        if child.proc is None:
            continue
        try:
            child.proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            log.warning("child_killed", child=child.name, after_s=timeout)
    for child in children:
        # Also reaches grandchildren that outlived their group leader.
        child.signal_group(signal.SIGKILL)
        if child.proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.proc.wait(5)
        child.join_reader(2)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
