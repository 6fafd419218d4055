"""docker-compose.yml and the Dockerfile, checked without a Docker engine (none runs here): everything
they reference exists in the repository, and every variable the app services get is one the app reads."""

from __future__ import annotations

import importlib
import importlib.util
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml

from jps.settings import PROJECT_ROOT, Settings
from tools.cli import app as cli_app

COMPOSE_FILE = PROJECT_ROOT / "docker-compose.yml"
APP_SERVICES = ("migrate", "temporal-setup", "worker", "api", "bank-sim", "notify-sim")
ONE_SHOT = ("temporal-schema", "migrate", "temporal-setup")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    return data


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = compose["services"]
    return result


def settings_variables() -> set[str]:
    """The environment variables jps/settings.py reads: its fields' validation aliases."""
    names = set()
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        names.add(alias if isinstance(alias, str) else name.upper())
    return names


def command_of(service: dict[str, Any]) -> list[str]:
    cmd = service.get("command", [])
    return shlex.split(cmd) if isinstance(cmd, str) else [str(part) for part in cmd]


def test_the_production_shape_is_there(services: dict[str, dict[str, Any]]) -> None:
    assert {"postgresql", "temporal", "temporal-ui", "worker", "api"} <= set(services)
    assert services["postgresql"]["image"].startswith("postgres:16")
    temporal_env = services["temporal"]["environment"]
    assert temporal_env["DB"] == "postgres12" and temporal_env["POSTGRES_SEEDS"] == "postgresql"
    assert services["temporal-ui"]["environment"]["TEMPORAL_ADDRESS"] == "temporal:7233"
    # Workers scale out horizontally on one task queue.
    assert "replicas" in services["worker"]["deploy"]
    assert services["worker"]["environment"]["TEMPORAL_TASK_QUEUE"]


def test_build_contexts_and_mounted_files_exist(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        build = service.get("build")
        if build is not None:
            context = PROJECT_ROOT / (build if isinstance(build, str) else build.get("context", "."))
            assert context.is_dir(), f"{name}: build context {context} missing"
            dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
            assert (context / dockerfile).is_file(), f"{name}: {dockerfile} missing"
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("."):
                assert (PROJECT_ROOT / source).exists(), f"{name}: mounted {source} missing"


def test_every_app_command_exists(services: dict[str, dict[str, Any]]) -> None:
    cli_commands = set(typer.main.get_command(cli_app).commands)  # type: ignore[attr-defined]
    for name in APP_SERVICES:
        argv = command_of(services[name])
        assert argv, f"{name} has no command"
        match argv:
            case ["python", "-m", module, *_]:
                assert importlib.util.find_spec(module) is not None, f"{name}: module {module} missing"
            case ["python", script, *_]:
                assert (PROJECT_ROOT / script).is_file(), f"{name}: {script} missing"
            case ["uvicorn", target, *_]:
                module, attr = target.split(":")
                assert hasattr(importlib.import_module(module), attr), f"{name}: {target} missing"
            case ["jps", command, *_]:
                assert command in cli_commands, f"{name}: `jps {command}` is not a command"
            case _:
                pytest.fail(f"{name}: unrecognised command {argv}")


def test_files_named_inside_the_app_image_exist(services: dict[str, dict[str, Any]]) -> None:
    # The Dockerfile's WORKDIR /app is the repository's root.
    for name in APP_SERVICES:
        for part in command_of(services[name]):
            if part.startswith("/app/"):
                assert (PROJECT_ROOT / part.removeprefix("/app/")).is_file(), f"{name}: {part} missing"


def test_mounted_scripts_exist(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        mounts = {
            target.split(":")[0]: PROJECT_ROOT / source
            for source, target in (v.split(":", 1) for v in service.get("volumes", []) if v.startswith("."))
        }
        for part in command_of(service):
            for inside, outside in mounts.items():
                if part.startswith(inside + "/"):
                    path = outside / part.removeprefix(inside + "/")
                    assert path.is_file(), f"{name}: {part} ({path}) missing"


def test_app_services_get_only_variables_the_app_reads(services: dict[str, dict[str, Any]]) -> None:
    known = settings_variables()
    assert {"DATABASE_URL", "TEMPORAL_ADDRESS", "JPS_JWT_SECRET", "JPS_BANK_URL"} <= known
    for name in APP_SERVICES:
        env = services[name]["environment"]
        unknown = set(env) - known
        assert not unknown, f"{name} sets {sorted(unknown)}, which jps/settings.py does not read"
        for required in ("DATABASE_URL", "TEMPORAL_ADDRESS", "JPS_JWT_SECRET", "JPS_ENV"):
            assert required in env, f"{name} lacks {required}"
        assert env["JPS_ENV"] == "production"


def test_secrets_are_required_not_defaulted(services: dict[str, dict[str, Any]]) -> None:
    env = services["api"]["environment"]
    for secret in ("JPS_JWT_SECRET", "JPS_BANK_HMAC_SECRET"):
        assert re.fullmatch(r"\$\{" + secret + r":\?.+\}", env[secret]), f"{secret} must be required"


def test_long_running_services_have_healthchecks(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        if name in ONE_SHOT:
            continue
        test = service.get("healthcheck", {}).get("test")
        assert test and test[0] in ("CMD", "CMD-SHELL"), f"{name} has no healthcheck"


def test_dependencies_name_real_services_and_wait_properly(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        for dep, rule in service.get("depends_on", {}).items():
            assert dep in services, f"{name} depends on unknown {dep}"
            wanted = "service_completed_successfully" if dep in ONE_SHOT else "service_healthy"
            assert rule["condition"] == wanted, f"{name} -> {dep}"
            assert dep in ONE_SHOT or "healthcheck" in services[dep]


def test_dockerfile_builds_a_slim_non_root_image_from_this_repo() -> None:
    text = (PROJECT_ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim\b", text, re.M)
    assert re.search(r"^RUN pip install \.", text, re.M)
    user = re.findall(r"^USER (\S+)", text, re.M)
    assert user and user[-1] not in ("root", "0")
    for line in re.findall(r"^COPY (.+)$", text, re.M):
        *sources, _dest = line.split()
        for source in sources:
            assert (PROJECT_ROOT / source).exists(), f"Dockerfile copies missing {source}"
    # What the image must carry for the services above.
    copied = " ".join(re.findall(r"^COPY (.+)$", text, re.M))
    for needed in ("migrations", "worker.py", "api", "workflows", "activities", "jps", "simulators"):
        assert needed in copied, f"Dockerfile does not copy {needed}"


def test_dockerignore_keeps_local_state_out() -> None:
    ignored = set(Path(PROJECT_ROOT / ".dockerignore").read_text().split())
    assert {".git", ".venv", ".data"} <= ignored


def test_the_api_and_worker_keep_evidence_files_in_minio(services: dict[str, dict[str, Any]]) -> None:
    assert services["minio"]["image"].startswith("minio/minio")
    minio_env = services["minio"]["environment"]
    for name in ("api", "worker"):
        env = services[name]["environment"]
        assert env["JPS_FILE_STORE"] == "s3", name
        assert env["JPS_S3_ENDPOINT_URL"].endswith("//minio:9000}"), name
        assert env["JPS_S3_ACCESS_KEY"] == minio_env["MINIO_ROOT_USER"], name
        assert env["JPS_S3_SECRET_KEY"] == minio_env["MINIO_ROOT_PASSWORD"], name
        assert re.fullmatch(r"\$\{MINIO_ROOT_PASSWORD:\?.+\}", env["JPS_S3_SECRET_KEY"]), name
        assert services[name]["depends_on"]["minio"]["condition"] == "service_healthy", name
        assert env["DATABASE_URL"] and env["JPS_ENV"] == "production", name  # the app's own, merged
