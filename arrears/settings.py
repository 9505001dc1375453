"""All configuration, read once from the environment (prefix-free names) or `.env`."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SIGNING_KEY = "arrears-development-signing-key-change-me"
DEV_WEBHOOK_SECRET = "arrears-development-webhook-secret-change-me"  # noqa: S105 - refused in production


class Settings(BaseSettings):
    """Runtime settings. Setting DATABASE_URL or TEMPORAL_ADDRESS switches that server to production mode."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    data_dir: Path = Field(default=Path(".arrears"), description="Embedded servers' data (dev only).")

    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; unset means the embedded PostgreSQL."
    )
    database_role: str | None = Field(
        default="arrears_app",
        description="Role the application switches to after connecting (INSERT/SELECT on the audit "
        "trail only); the login user must be a member. Empty: stay the login user.",
    )
    temporal_address: str | None = Field(
        default=None, description="host:port of a Temporal frontend; unset means the dev server."
    )
    temporal_namespace: str = "default"
    temporal_task_queue: str = "arrears-cases"
    temporal_dev_port: int = 7233
    temporal_ui_port: int = 8233

    worker_max_activities: int = Field(default=100, ge=1, description="Activities one worker runs at once.")
    worker_max_cached_workflows: int = Field(
        default=2000, ge=0, description="Case workflows one worker keeps in memory between tasks."
    )
    worker_max_workflow_tasks: int = Field(
        default=100, ge=1, description="Workflow tasks one worker runs at once."
    )

    api_host: str = "127.0.0.1"
    api_port: int = 8000
    max_request_bytes: int = 5 * 1024 * 1024

    jwt_algorithm: Literal["HS256", "RS256"] = "HS256"
    jwt_signing_key: SecretStr = SecretStr(DEV_SIGNING_KEY)
    jwt_public_key: str | None = Field(default=None, description="RS256: the IdP's PEM public key.")
    jwt_jwks_url: str | None = Field(
        default=None, description="RS256: the IdP's JWKS URL (instead of a key)."
    )
    jwt_issuer: str = "arrears"
    jwt_audience: str = "arrears-api"
    token_ttl_minutes: int = 12 * 60
    payments_webhook_secret: SecretStr = Field(
        default=SecretStr(DEV_WEBHOOK_SECRET),
        description="HMAC-SHA256 key the loan system signs payments with.",
    )
    webhook_tolerance_seconds: int = Field(default=300, ge=1, description="Oldest signature timestamp taken.")

    # messages
    smtp_host: str | None = Field(
        default=None, description="Unset: e-mail goes as a letter (`arrears run` starts a local sink)."
    )
    smtp_port: int = 25
    dev_mailbox: bool = Field(
        default=True, description="`arrears run` without SMTP_HOST files e-mail in DATA_DIR/mail."
    )
    dev_smtp_port: int = 8025
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    mail_from: str = "Arrears Servicing <servicing@arrears.localhost>"
    message_id_domain: str = "arrears.localhost"
    sms_gateway_url: str | None = Field(default=None, description="Unset: SMS goes as a letter.")
    sms_gateway_token: SecretStr | None = None
    servicer_name: str = "Arrears Servicing"
    servicer_address: str = "1 Servicing Plaza"

    demo_data: bool = Field(default=True, description="Load the demo portfolio into an empty database.")

    @model_validator(mode="after")
    def _refuse_dev_secret_in_production(self) -> Settings:
        if self.environment == "production":
            if self.jwt_algorithm == "HS256" and (self.jwt_signing_key.get_secret_value() == DEV_SIGNING_KEY):
                raise ValueError("JWT_SIGNING_KEY must be set to a real secret in production")
            if self.jwt_algorithm == "RS256" and not (self.jwt_public_key or self.jwt_jwks_url):
                raise ValueError("JWT_PUBLIC_KEY or JWT_JWKS_URL is required for RS256")
            if self.payments_webhook_secret.get_secret_value() == DEV_WEBHOOK_SECRET:
                raise ValueError("PAYMENTS_WEBHOOK_SECRET must be set to a real secret in production")
        return self

    @property
    def embedded_postgres(self) -> bool:
        """True when no DATABASE_URL is given and the embedded server must run."""
        return self.database_url is None

    @property
    def embedded_temporal(self) -> bool:
        """True when no TEMPORAL_ADDRESS is given and the dev server must run."""
        return self.temporal_address is None


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings."""
    return Settings()
