"""The one settings object. Every environment variable JPS Flow reads is declared here."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


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
    jwt_ttl_hours: int = Field(12, validation_alias="JPS_JWT_TTL_HOURS")
    # Signs the audit chain's anchors (checkpoints of its head kept apart from the rows).
    audit_anchor_key: str = Field(
        "dev-only-audit-anchor-key-change-me-in-production", validation_alias="JPS_AUDIT_ANCHOR_KEY"
    )
    # Where the audit anchors are appended (empty: JPS_DATA_DIR/audit/anchors.jsonl). Ship that file
    # off-host: it is what shows a truncated log.
    audit_anchor_path: Path | None = Field(None, validation_alias="JPS_AUDIT_ANCHOR_PATH")

    # API
    api_host: str = Field("127.0.0.1", validation_alias="JPS_API_HOST")
    api_port: int = Field(8000, validation_alias="JPS_API_PORT")
    api_base_url: str = Field("http://127.0.0.1:8000", validation_alias="JPS_API_BASE_URL")

    # External services we do not own
    bank_url: str = Field("http://127.0.0.1:8100", validation_alias="JPS_BANK_URL")
    bank_hmac_secret: str = Field("dev-bank-callback-secret", validation_alias="JPS_BANK_HMAC_SECRET")
    # Per bank call; a call that outlives it is retried with the same idempotency key.
    bank_timeout_s: float = Field(10.0, gt=0, validation_alias="JPS_BANK_TIMEOUT_S")
    notify_url: str = Field("http://127.0.0.1:8200", validation_alias="JPS_NOTIFY_URL")

    # Local stack
    data_dir: Path = Field(PROJECT_ROOT / ".data", validation_alias="JPS_DATA_DIR")
    env: str = Field("development", validation_alias="JPS_ENV")  # development | production
    log_level: str = Field("INFO", validation_alias="JPS_LOG_LEVEL")
    policy_file: Path | None = Field(None, validation_alias="JPS_POLICY_FILE")
    worker_metrics_port: int = Field(9464, validation_alias="JPS_WORKER_METRICS_PORT")

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def anchor_file(self) -> Path:
        return self.audit_anchor_path or self.data_dir / "audit" / "anchors.jsonl"


@lru_cache
def get_settings() -> Settings:
    return Settings()
