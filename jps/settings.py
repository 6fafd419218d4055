"""The one settings object. Every environment variable JPS Flow reads is declared here."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


OUTBOX_CLAIM_LEASE_MIN_S = 90.0  # the shortest JPS_OUTBOX_CLAIM_LEASE_S (why: the field's comment)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", populate_by_name=True)

    # Temporal
    temporal_address: str = Field("127.0.0.1:7233", validation_alias="TEMPORAL_ADDRESS")
    temporal_namespace: str = Field("default", validation_alias="TEMPORAL_NAMESPACE")
    temporal_task_queue: str = Field("jps-flow", validation_alias="TEMPORAL_TASK_QUEUE")
    temporal_ui_url: str = Field("http://127.0.0.1:8233", validation_alias="TEMPORAL_UI_URL")

    # PostgreSQL: empty means "the embedded pgserver under data_dir"
    database_url: str = Field("", validation_alias="DATABASE_URL")
    db_pool_min: int = Field(1, validation_alias="JPS_DB_POOL_MIN")
    db_pool_max: int = Field(10, validation_alias="JPS_DB_POOL_MAX")

    # Auth
    jwt_secret: str = Field("dev-only-jwt-secret-change-me-in-production", validation_alias="JPS_JWT_SECRET")
    # Capped at 12 (jps.auth.MAX_TTL).
    jwt_ttl_hours: int = Field(12, ge=1, le=12, validation_alias="JPS_JWT_TTL_HOURS")
    # The officer directory (infra/officers.py): how long the API trusts what it read of an officer
    # (a deactivation or role change takes effect within this), sign-in failures before a lock, the
    # lock's length, and sign-in attempts per client and minute (429 beyond).
    officer_cache_s: float = Field(30.0, ge=0, le=60, validation_alias="JPS_OFFICER_CACHE_S")
    signin_max_failures: int = Field(5, ge=1, validation_alias="JPS_SIGNIN_MAX_FAILURES")
    signin_lock_s: float = Field(900.0, ge=0, validation_alias="JPS_SIGNIN_LOCK_S")
    signin_per_minute: int = Field(20, ge=1, validation_alias="JPS_SIGNIN_PER_MINUTE")
    # The public status lookup (no sign-in): lookups a minute per client address, then 429.
    public_status_per_minute: int = Field(10, ge=1, validation_alias="JPS_PUBLIC_STATUS_PER_MINUTE")
    # Seals officers' second-factor (TOTP) secrets at rest.
    totp_seal_key: str = Field(
        "dev-only-totp-seal-key-change-me-in-production", validation_alias="JPS_TOTP_SEAL_KEY"
    )
    # Signs the audit chain's anchors (checkpoints of its head kept apart from the rows).
    audit_anchor_key: str = Field(
        "dev-only-audit-anchor-key-change-me-in-production", validation_alias="JPS_AUDIT_ANCHOR_KEY"
    )
    # Anchor keys retired by a rotation, comma-separated: the anchors they signed still verify; new
    # ones are signed with JPS_AUDIT_ANCHOR_KEY only (infra/audit.py, AuditAnchors).
    audit_anchor_old_keys: str = Field("", validation_alias="JPS_AUDIT_ANCHOR_OLD_KEYS")

    # Temporal payloads sealed (jps/sealing.py): `kid:base64key,...`, the first seals, all open; or a
    # file of such entries. Neither set: development generates one under data_dir (infra/payload_keys.py).
    payload_keys: str = Field("", validation_alias="JPS_PAYLOAD_KEYS")
    payload_key_file: Path | None = Field(None, validation_alias="JPS_PAYLOAD_KEY_FILE")
    # Where the audit anchors are appended (empty: JPS_DATA_DIR/audit/anchors.jsonl). Ship that file
    # off-host: it is what shows a truncated log.
    audit_anchor_path: Path | None = Field(None, validation_alias="JPS_AUDIT_ANCHOR_PATH")

    # API
    api_host: str = Field("127.0.0.1", validation_alias="JPS_API_HOST")
    api_port: int = Field(8000, validation_alias="JPS_API_PORT")
    api_base_url: str = Field("http://127.0.0.1:8000", validation_alias="JPS_API_BASE_URL")
    # The largest request body the API reads (413 beyond it, before anything is parsed or spooled):
    # room for the whole October 2020 cohort in one import file.
    max_request_bytes: int = Field(64 * 1024 * 1024, gt=0, validation_alias="JPS_MAX_REQUEST_BYTES")

    # External services we do not own
    bank_url: str = Field("http://127.0.0.1:8100", validation_alias="JPS_BANK_URL")
    bank_hmac_secret: str = Field("dev-bank-callback-secret", validation_alias="JPS_BANK_HMAC_SECRET")
    # Per bank call; a call that outlives it is retried with the same idempotency key.
    bank_timeout_s: float = Field(10.0, gt=0, validation_alias="JPS_BANK_TIMEOUT_S")
    notify_url: str = Field("http://127.0.0.1:8200", validation_alias="JPS_NOTIFY_URL")
    # Grievances (issue 14): the gateway's inbound SMS are signed like the bank's callbacks, with their
    # own secret; a complainant's number is matched to a reply by a keyed hash (never stored in clear);
    # the public forms take this many requests per client a minute (429 beyond); the SLAs' file.
    sms_hmac_secret: str = Field("dev-sms-inbound-secret", validation_alias="JPS_SMS_HMAC_SECRET")
    phone_hash_key: str = Field("dev-only-phone-hash-key-change-me", validation_alias="JPS_PHONE_HASH_KEY")
    public_per_minute: int = Field(20, ge=1, validation_alias="JPS_PUBLIC_PER_MINUTE")
    # Grievances filed on the public forms for one phone number an hour, from any client: each sends
    # that number an SMS, so many clients must not flood one stranger's phone.
    public_per_phone_per_hour: int = Field(5, ge=1, validation_alias="JPS_PUBLIC_PER_PHONE_PER_HOUR")
    grievance_policy_file: Path | None = Field(None, validation_alias="JPS_GRIEVANCE_POLICY_FILE")

    # Local stack
    data_dir: Path = Field(PROJECT_ROOT / ".data", validation_alias="JPS_DATA_DIR")
    env: str = Field("development", validation_alias="JPS_ENV")  # development | production
    log_level: str = Field("INFO", validation_alias="JPS_LOG_LEVEL")
    policy_file: Path | None = Field(None, validation_alias="JPS_POLICY_FILE")
    worker_metrics_port: int = Field(9464, validation_alias="JPS_WORKER_METRICS_PORT")
    # Groups a worker keeps in memory between their workflow tasks (the sticky cache; the SDK's
    # default is 1,000). A group pushed out is replayed from its whole history at its next task: the
    # bench's full cohort on one worker pushed out 3,118 (one task in twenty). About 0.3-0.4 MB each
    # (bench: one worker peaked at 446 MB holding 769 groups, 1,358 MB holding all 3,076).
    worker_cached_workflows: int = Field(
        4000, ge=10, le=100_000, validation_alias="JPS_WORKER_CACHED_WORKFLOWS"
    )
    # Workflow tasks and activities one worker runs at once (unset: the SDK's defaults, 100 each). Each
    # workflow task takes a thread from a pool of that size; behind one GIL, more threads than the
    # cores can serve only queue for it. At least 2 workflow tasks: the SDK refuses fewer with a
    # sticky cache.
    worker_workflow_tasks: int | None = Field(
        None, ge=2, le=1_000, validation_alias="JPS_WORKER_WORKFLOW_TASKS"
    )
    worker_activities: int | None = Field(None, ge=1, le=1_000, validation_alias="JPS_WORKER_ACTIVITIES")
    # How often a worker looks for groups whose history no worker can replay, and resets each to its
    # last task that replays (tools/replay_reset.py; 0: never, left to `jps reset-unreplayable`); and
    # how many at once it resets at most (more is a deployment's doing: it resets none and says so).
    replay_reset_every_s: float = Field(300.0, ge=0, le=86_400, validation_alias="JPS_REPLAY_RESET_EVERY_S")
    replay_reset_limit: int = Field(10, ge=0, le=1_000, validation_alias="JPS_REPLAY_RESET_LIMIT")
    # How long a delivery run's claim on outbox messages holds (activities/notifications.py); a worker
    # killed mid-run leaves its messages to the next run once it expires. At least
    # OUTBOX_CLAIM_LEASE_MIN_S: a run starts no send after 30 s, but a send in flight then may take
    # 10 s more (the notification client's whole-request bound, twice its 5 s timeout), and the
    # round's write waits for a pooled connection; a run outliving its claim lets another run send
    # the same messages again (the gateway drops repeats by id, but attempts count twice).
    outbox_claim_lease_s: float = Field(
        150.0, ge=OUTBOX_CLAIM_LEASE_MIN_S, le=3_600, validation_alias="JPS_OUTBOX_CLAIM_LEASE_S"
    )

    # Evidence files (receipts, photos of goods and worksites): content-addressed, by sha256
    # (infra/filestore.py). `filesystem` keeps them under JPS_FILES_DIR (empty: JPS_DATA_DIR/files);
    # `s3` in a bucket of S3-compatible storage (MinIO, a cloud's object store). Without an access
    # key the S3 client takes its credentials from its usual chain (environment, instance role).
    file_store: Literal["filesystem", "s3"] = Field("filesystem", validation_alias="JPS_FILE_STORE")
    files_dir: Path | None = Field(None, validation_alias="JPS_FILES_DIR")
    s3_endpoint_url: str = Field("", validation_alias="JPS_S3_ENDPOINT_URL")  # empty: the AWS default
    s3_bucket: str = Field("jps-files", validation_alias="JPS_S3_BUCKET")
    s3_region: str = Field("us-east-1", validation_alias="JPS_S3_REGION")
    s3_access_key: str = Field("", validation_alias="JPS_S3_ACCESS_KEY")
    # A SecretStr: printed settings (a repr, a log line) show asterisks, never the key.
    s3_secret_key: SecretStr = Field(SecretStr(""), validation_alias="JPS_S3_SECRET_KEY")
    # The largest evidence file accepted (413 beyond); the upload route's body limit is this plus
    # room for the form's other fields.
    max_file_bytes: int = Field(10 * 1024 * 1024, gt=0, validation_alias="JPS_MAX_FILE_BYTES")

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def anchor_file(self) -> Path:
        return self.audit_anchor_path or self.data_dir / "audit" / "anchors.jsonl"

    @property
    def files_path(self) -> Path:
        return self.files_dir or self.data_dir / "files"


# ---- secrets a production process refuses to start without ----

JWT_SECRET = "JPS_JWT_SECRET"
BANK_HMAC_SECRET = "JPS_BANK_HMAC_SECRET"
PAYLOAD_KEYS = "JPS_PAYLOAD_KEYS"
AUDIT_ANCHOR_KEY = "JPS_AUDIT_ANCHOR_KEY"
TOTP_SEAL_KEY = "JPS_TOTP_SEAL_KEY"
SMS_HMAC_SECRET = "JPS_SMS_HMAC_SECRET"
PHONE_HASH_KEY = "JPS_PHONE_HASH_KEY"

_SECRET_FIELDS = {
    JWT_SECRET: "jwt_secret",
    BANK_HMAC_SECRET: "bank_hmac_secret",
    AUDIT_ANCHOR_KEY: "audit_anchor_key",
    TOTP_SEAL_KEY: "totp_seal_key",
    SMS_HMAC_SECRET: "sms_hmac_secret",
    PHONE_HASH_KEY: "phone_hash_key",
}
MIN_SECRET_BYTES = 32


class SecretsError(RuntimeError):
    """A production process lacks a secret it uses; the message names each variable."""


def _secret_problem(settings: Settings, variable: str) -> str | None:
    if variable == PAYLOAD_KEYS:
        return _payload_keys_problem(settings)
    field = _SECRET_FIELDS[variable]
    value: str = getattr(settings, field)
    default = Settings.model_fields[field].default
    if field not in settings.model_fields_set or not value:
        return f"{variable} is not set"
    if value == default:
        return f"{variable} is the published development default"
    if len(value.encode()) < MIN_SECRET_BYTES:
        return f"{variable} is shorter than {MIN_SECRET_BYTES} bytes"
    if variable == AUDIT_ANCHOR_KEY:
        return _retired_anchor_keys_problem(settings, default)
    return None


def _retired_anchor_keys_problem(settings: Settings, default: str) -> str | None:
    """The retired anchor keys still verify old anchors: one an outsider could know (the published
    default, a short one) would let them sign an anchor that verifies."""
    for i, key in enumerate(k.strip() for k in settings.audit_anchor_old_keys.split(",")):
        if key == default:
            return f"JPS_AUDIT_ANCHOR_OLD_KEYS: key {i + 1} is the published development default"
        if key and len(key.encode()) < MIN_SECRET_BYTES:
            return f"JPS_AUDIT_ANCHOR_OLD_KEYS: key {i + 1} is shorter than {MIN_SECRET_BYTES} bytes"
    return None


def _payload_keys_problem(settings: Settings) -> str | None:
    # A key file is read (and each key's length checked) where the keys are loaded, in infra; the
    # core only sees that one is named.
    if settings.payload_key_file is not None and not settings.payload_keys:
        return None
    if not settings.payload_keys:
        return f"{PAYLOAD_KEYS} (or JPS_PAYLOAD_KEY_FILE) is not set"
    for entry in re.split(r"[,\n]", settings.payload_keys):
        kid, _, encoded = entry.strip().partition(":")
        if not kid:
            continue
        try:
            key = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            return f"{PAYLOAD_KEYS}: key {kid!r} is not base64"
        if len(key) < MIN_SECRET_BYTES:
            return f"{PAYLOAD_KEYS}: key {kid!r} is shorter than {MIN_SECRET_BYTES} bytes"
    return None


def check_production_secrets(settings: Settings, uses: Iterable[str]) -> None:
    """With `JPS_ENV=production`, refuse (SecretsError naming each variable) when a secret this
    process uses is missing, shorter than 32 bytes or a published development default. Called first
    thing by every process (the API's start-up, the worker's main, the bank simulator's)."""
    if not settings.production:
        return
    problems = [p for v in uses if (p := _secret_problem(settings, v))]
    if problems:
        raise SecretsError("refusing to start in production: " + "; ".join(problems))


@lru_cache
def get_settings() -> Settings:
    return Settings()
