"""Run a simulator as its own process (`python -m simulators.X`), the way the local stack does."""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from jps.settings import PROJECT_ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def simulator_process(module: str, *args: str) -> Iterator[str]:
    """Start `python -m module --port P args...`, wait for /health, yield its URL, then stop it."""
    port = free_port()
    # A file, not a pipe: a pipe nobody reads would block the server once its buffer fills.
    log_file = tempfile.TemporaryFile()
    proc = subprocess.Popen(
        [sys.executable, "-m", module, "--port", str(port), *args],
        cwd=PROJECT_ROOT,
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log_file.seek(0)
                err = log_file.read().decode(errors="replace")
                raise RuntimeError(f"{module} did not start: {err[-2000:]}")
            time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log_file.close()
