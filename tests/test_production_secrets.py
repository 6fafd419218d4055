"""Secrets enforced: with JPS_ENV=production the API and the worker, started as real processes, refuse
to start on a missing, short or published secret and name the variable; with good secrets they start.
So do the `jps` commands that sign or check with a secret (`jps token`, `jps import`, `jps audit
verify`, the commands that hand Temporal sealed payloads) and both simulators. And the one check
behind them all, `jps.settings.check_production_secrets`."""

from __future__ import annotations

import base64
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from infra.embedded import temporal_cli_path
from jps.settings import (
    AUDIT_ANCHOR_KEY,
    BANK_HMAC_SECRET,
    JWT_SECRET,
    PAYLOAD_KEYS,
    PHONE_HASH_KEY,
    PROJECT_ROOT,
    SMS_HMAC_SECRET,
    TOTP_SEAL_KEY,
    SecretsError,
    Settings,
    check_production_secrets,
)

ALL = [
    JWT_SECRET,
    BANK_HMAC_SECRET,
    PAYLOAD_KEYS,
    AUDIT_ANCHOR_KEY,
    TOTP_SEAL_KEY,
    SMS_HMAC_SECRET,
    PHONE_HASH_KEY,
]
SECRET_VARS = [*ALL, "JPS_PAYLOAD_KEY_FILE", "JPS_AUDIT_ANCHOR_OLD_KEYS"]


def good_secrets() -> dict[str, str]:
    return {
        JWT_SECRET: secrets.token_hex(32),
        BANK_HMAC_SECRET: secrets.token_hex(32),
        AUDIT_ANCHOR_KEY: secrets.token_hex(32),
        TOTP_SEAL_KEY: secrets.token_hex(32),
        SMS_HMAC_SECRET: secrets.token_hex(32),
        PHONE_HASH_KEY: secrets.token_hex(32),
        PAYLOAD_KEYS: f"prod2:{base64.b64encode(os.urandom(32)).decode()}",
    }


def settings(**env: str) -> Settings:
    values = {k: v for k, v in os.environ.items() if k not in SECRET_VARS}
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update({**values, **env})
    try:
        return Settings()
    finally:
        os.environ.clear()
        os.environ.update(saved)


# ---- the check ----


def test_development_needs_nothing() -> None:
    check_production_secrets(settings(JPS_ENV="development"), uses=ALL)


def test_production_refuses_missing_defaults_and_short_secrets_naming_each() -> None:
    with pytest.raises(SecretsError) as missing:
        check_production_secrets(settings(JPS_ENV="production"), uses=ALL)
    for variable in ALL:
        assert variable in str(missing.value)

    published = settings(
        JPS_ENV="production",
        **{**good_secrets(), JWT_SECRET: Settings.model_fields["jwt_secret"].default},
    )
    with pytest.raises(SecretsError, match=f"{JWT_SECRET} is the published development default"):
        check_production_secrets(published, uses=ALL)

    short = settings(JPS_ENV="production", **{**good_secrets(), BANK_HMAC_SECRET: "x" * 31})
    with pytest.raises(SecretsError, match=f"{BANK_HMAC_SECRET} is shorter than 32 bytes"):
        check_production_secrets(short, uses=ALL)

    short_key = base64.b64encode(b"k" * 16).decode()
    weak_payload = settings(JPS_ENV="production", **{**good_secrets(), PAYLOAD_KEYS: f"a:{short_key}"})
    with pytest.raises(SecretsError, match=f"{PAYLOAD_KEYS}: key 'a' is shorter"):
        check_production_secrets(weak_payload, uses=ALL)

    # A retired anchor key still verifies old anchors: an outsider must not know it either.
    anchor_default = Settings.model_fields["audit_anchor_key"].default
    for retired, says in ((anchor_default, "key 2 is the published"), ("r" * 31, "key 2 is shorter")):
        weak_retired = settings(
            JPS_ENV="production",
            **good_secrets(),
            JPS_AUDIT_ANCHOR_OLD_KEYS=f"{secrets.token_hex(32)},{retired}",
        )
        with pytest.raises(SecretsError, match=f"JPS_AUDIT_ANCHOR_OLD_KEYS: {says}"):
            check_production_secrets(weak_retired, uses=ALL)

    good = settings(JPS_ENV="production", **good_secrets())
    check_production_secrets(good, uses=ALL)
    retired = settings(
        JPS_ENV="production", **good_secrets(), JPS_AUDIT_ANCHOR_OLD_KEYS=secrets.token_hex(32)
    )
    check_production_secrets(retired, uses=ALL)
    # A process is held only to the secrets it uses.
    check_production_secrets(settings(JPS_ENV="production", **{JWT_SECRET: "j" * 40}), uses=[JWT_SECRET])


# ---- real processes ----


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def process_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SECRET_VARS}
    env.update(
        {
            "JPS_ENV": "production",
            "JPS_DATA_DIR": str(tmp_path / "data"),
            "JPS_LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",
            **extra,
        }
    )
    return env


def start(argv: list[str], env: dict[str, str], out: Path) -> subprocess.Popen[bytes]:
    with out.open("wb") as sink:
        return subprocess.Popen(
            [sys.executable, *argv],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


def wait_for(proc: subprocess.Popen[bytes], out: Path, text: str, within: float = 40) -> str:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        log = out.read_text(errors="replace")
        if text in log:
            return log
        if proc.poll() is not None:
            pytest.fail(f"exited {proc.returncode} before {text!r}:\n{log[-3000:]}")
        time.sleep(0.2)
    pytest.fail(f"no {text!r} within {within} s:\n{out.read_text(errors='replace')[-3000:]}")


def api_argv(port: int) -> list[str]:
    return ["-m", "uvicorn", "api.main:app", "--host", "127.0.0.1", "--port", str(port)]


@pytest.fixture
async def temporal() -> AsyncIterator[str]:
    """A dev server of this test's own: the worker creates its schedules there."""
    env = await WorkflowEnvironment.start_local(dev_server_existing_path=temporal_cli_path(), ui=False)
    yield env.client.service_client.config.target_host
    await env.shutdown()


@pytest.mark.parametrize(
    ("process", "argv"),
    [("api", api_argv(0)), ("worker", ["worker.py"])],
)
def test_production_process_with_default_secrets_exits_naming_the_variable(
    process: str, argv: list[str], tmp_path: Path, migrated_dsn: str
) -> None:
    out = tmp_path / f"{process}.log"
    env = process_env(tmp_path, DATABASE_URL=migrated_dsn, TEMPORAL_ADDRESS="127.0.0.1:1")
    proc = start(argv, env, out)
    try:
        code = proc.wait(60)
    finally:
        stop(proc)
    log = out.read_text(errors="replace")
    assert code != 0, log[-3000:]
    named = ALL
    if process == "worker":
        named = [PAYLOAD_KEYS, AUDIT_ANCHOR_KEY, PHONE_HASH_KEY]
    for variable in named:
        assert variable in log, log[-3000:]
    assert "worker_started" not in log and "Application startup complete" not in log


def test_production_api_with_good_secrets_starts(tmp_path: Path, migrated_dsn: str) -> None:
    port = free_port()
    out = tmp_path / "api.log"
    env = process_env(tmp_path, DATABASE_URL=migrated_dsn, TEMPORAL_ADDRESS="127.0.0.1:1", **good_secrets())
    proc = start(api_argv(port), env, out)
    try:
        wait_for(proc, out, "Application startup complete")
        answer = httpx.get(f"http://127.0.0.1:{port}/health", timeout=10)
        assert answer.status_code in (200, 503)  # up; Temporal at 127.0.0.1:1 is not
    finally:
        stop(proc)


def test_production_worker_with_good_secrets_starts(tmp_path: Path, migrated_dsn: str, temporal: str) -> None:
    out = tmp_path / "worker.log"
    env = process_env(
        tmp_path,
        DATABASE_URL=migrated_dsn,
        TEMPORAL_ADDRESS=temporal,
        TEMPORAL_TASK_QUEUE=f"prod-secrets-{secrets.token_hex(4)}",
        JPS_WORKER_METRICS_PORT=str(free_port()),
        **good_secrets(),
    )
    proc = start(["worker.py"], env, out)
    try:
        wait_for(proc, out, "worker_started")
    finally:
        stop(proc)
    assert proc.returncode == 0, out.read_text(errors="replace")[-3000:]


# ---- the `jps` commands and the simulators ----

CLI = ["-m", "tools.cli"]


def run(argv: list[str], env: dict[str, str], tmp_path: Path) -> tuple[int, str]:
    out = tmp_path / "out.log"
    proc = start(argv, env, out)
    try:
        code = proc.wait(60)
    finally:
        stop(proc)
    return code, out.read_text(errors="replace")


@pytest.mark.parametrize(
    ("argv", "variable", "value", "problem"),
    [
        ([*CLI, "token", "--officer", "dev-officer"], JWT_SECRET, None, "is not set"),
        (
            [*CLI, "token", "--officer", "dev-officer"],
            JWT_SECRET,
            "too-short-for-a-key",
            "is shorter than 32 bytes",
        ),
        ([*CLI, "import", "groups.csv", "--dry-run"], JWT_SECRET, None, "is not set"),
        ([*CLI, "audit", "verify"], AUDIT_ANCHOR_KEY, None, "is not set"),
        (
            [*CLI, "audit", "verify"],
            AUDIT_ANCHOR_KEY,
            Settings.model_fields["audit_anchor_key"].default,
            "is the published development default",
        ),
        ([*CLI, "reconcile"], PAYLOAD_KEYS, None, "(or JPS_PAYLOAD_KEY_FILE) is not set"),
        ([*CLI, "verify-payments"], PAYLOAD_KEYS, None, "(or JPS_PAYLOAD_KEY_FILE) is not set"),
        ([*CLI, "repair-failed"], PAYLOAD_KEYS, None, "(or JPS_PAYLOAD_KEY_FILE) is not set"),
        ([*CLI, "seed-demo", "--scale", "0.001"], PAYLOAD_KEYS, None, "(or JPS_PAYLOAD_KEY_FILE) is not set"),
        (["-m", "simulators.notify", "--port", "0"], SMS_HMAC_SECRET, None, "is not set"),
        (["-m", "simulators.bank", "--port", "0"], BANK_HMAC_SECRET, None, "is not set"),
    ],
)
def test_production_command_refuses_a_missing_or_weak_secret_naming_it(
    argv: list[str], variable: str, value: str | None, problem: str, tmp_path: Path, migrated_dsn: str
) -> None:
    """Every other secret is good: the command is refused for the one it uses, before it does
    anything (no token printed, no verdict on the audit log, no server)."""
    (tmp_path / "groups.csv").write_text("group_ref\n")
    secrets_but_one = {k: v for k, v in good_secrets().items() if k != variable}
    if value is not None:
        secrets_but_one[variable] = value
    env = process_env(tmp_path, DATABASE_URL=migrated_dsn, TEMPORAL_ADDRESS="127.0.0.1:1", **secrets_but_one)
    argv = [a if a != "groups.csv" else str(tmp_path / "groups.csv") for a in argv]
    code, out = run(argv, env, tmp_path)
    assert code != 0, out[-3000:]
    assert f"{variable} {problem}" in out and "refusing to start in production" in out, out[-3000:]
    assert "eyJ" not in out and "audit log valid" not in out and "starting" not in out, out[-3000:]


def test_production_commands_with_good_secrets_run(tmp_path: Path, migrated_dsn: str) -> None:
    env = process_env(tmp_path, DATABASE_URL=migrated_dsn, TEMPORAL_ADDRESS="127.0.0.1:1", **good_secrets())
    code, out = run([*CLI, "token", "--officer", "nobody-in-the-directory"], env, tmp_path)
    assert code == 1 and "not an active officer" in out and "refusing" not in out, out[-3000:]
    code, out = run([*CLI, "audit", "verify"], env, tmp_path)
    assert "audit log" in out and "refusing" not in out, out[-3000:]

    log = tmp_path / "notify.log"
    proc = start(["-m", "simulators.notify", "--port", str(free_port())], env, log)
    try:
        wait_for(proc, log, "notify_sim_starting")
    finally:
        stop(proc)
