"""All configuration, read once from the environment (prefix-free names) or `.env`."""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, FilePath, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SIGNING_KEY = "arrears-development-signing-key-change-me"
DEV_WEBHOOK_SECRET = "arrears-development-webhook-secret-change-me"  # noqa: S105 - refused in production
MIN_SECRET_BYTES = 32  # HMAC keys: no shorter than the SHA-256 output they sign with


class Settings(BaseSettings):
    """Runtime settings. Setting DATABASE_URL or TEMPORAL_ADDRESS switches that server to production mode."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = Field(
        default="development",
        description="`production` refuses development secrets. With DATABASE_URL or TEMPORAL_ADDRESS "
        "set, the development secrets are kept only when `development` (or `test`) is set explicitly.",
    )
    data_dir: Path = Field(default=Path(".arrears"), description="Embedded servers' data (dev only).")

    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL the application logs in with: a role that owns nothing (arrears_app). "
        "Unset means the embedded PostgreSQL.",
    )
    migration_database_url: str | None = Field(
        default=None,
        description="URL of the schema's owner, for migrations only. Unset: DATABASE_URL, in development "
        "and test only; the embedded PostgreSQL has its own owner.",
    )
    temporal_address: str | None = Field(
        default=None, description="host:port of a Temporal frontend; unset means the dev server."
    )
    temporal_tls: bool | None = Field(
        default=None,
        description="TLS to the frontend. Unset: on when any TEMPORAL_TLS_* file or TEMPORAL_API_KEY is "
        "set. true: on (the system's CAs unless TEMPORAL_TLS_CA). false: refused beside a key or file.",
    )
    temporal_tls_cert: FilePath | None = Field(
        default=None, description="Client certificate (PEM) for mTLS; goes with TEMPORAL_TLS_KEY."
    )
    temporal_tls_key: FilePath | None = Field(
        default=None, description="The client certificate's private key (PEM); goes with TEMPORAL_TLS_CERT."
    )
    temporal_tls_ca: FilePath | None = Field(
        default=None, description="CA (PEM) that signed the frontend's certificate; unset: the system's CAs."
    )
    temporal_tls_server_name: str | None = Field(
        default=None,
        description="Name on the frontend's certificate, where it differs from the address's host.",
    )
    temporal_api_key: SecretStr | None = Field(
        default=None, description="API key (Temporal Cloud); always sent over TLS, never in clear text."
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

    # the workbench (server-rendered pages at /web)
    web_idle_minutes: int = Field(
        default=30, ge=1, le=24 * 60, description="A session ends after this idle time."
    )
    web_session_hours: int = Field(
        default=12,
        ge=1,
        le=7 * 24,
        description="A session ends this long after sign-in, however busy: one working day.",
    )
    web_secret: SecretStr | None = Field(
        default=None,
        description="Signs the sign-in round trip's cookie. Unset: a new one each start (development); "
        "required in production with OIDC, and the same on every replica.",
    )
    oidc_issuer: str | None = Field(
        default=None,
        description="The identity provider's issuer URL (its /.well-known/openid-configuration).",
    )
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None
    oidc_scopes: str = "openid profile email"
    oidc_redirect_url: str | None = Field(
        default=None,
        description="The callback URL registered with the provider; unset: derived from the request.",
    )
    oidc_subject_claim: str = Field(
        default="preferred_username", description="The claim that names the person."
    )
    oidc_role_claim: str = Field(default="arrears_role", description="The claim holding the workbench role.")
    oidc_team_claim: str = Field(default="arrears_team", description="The claim holding the person's team.")
    payments_webhook_secret: SecretStr = Field(
        default=SecretStr(DEV_WEBHOOK_SECRET),
        description="HMAC-SHA256 key the loan system signs payments with.",
    )
    webhook_tolerance_seconds: int = Field(default=300, ge=1, description="Oldest signature timestamp taken.")

    # the borrower page (/me): personal links in messages, one-time codes, the payment provider
    public_url: str | None = Field(
        default=None,
        description="Where borrowers reach the app: the start of the links in messages and letters. "
        "Unset: http://API_HOST:API_PORT (set it in production).",
    )
    borrower_link_secret: SecretStr | None = Field(
        default=None,
        description="Signs borrowers' links, letter codes and one-time codes. Unset: a key derived "
        "from PAYMENTS_WEBHOOK_SECRET (so production already refuses the development one).",
    )
    borrower_link_days: int = Field(default=30, ge=1, le=90, description="How long a message's link opens.")
    payment_provider_url: str | None = Field(
        default=None, description="The payment provider's checkout API; unset: the page offers no pay-now."
    )

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
    creditor_name: str | None = Field(
        default=None,
        description="The creditor the servicer collects for, named in the US validation notice;"
        " unset: the servicer is the creditor.",
    )

    # the audit log's sequencer and signed tree heads
    audit_signing_key: SecretStr | None = Field(
        default=None,
        description="Ed25519 private key that signs audit tree heads (PEM or base64 of 32 bytes). Unset: "
        "development keeps one in DATA_DIR/audit-signing-key.pem; production refuses to run the worker.",
    )
    audit_public_keys: list[str] = Field(
        default_factory=list,
        description="Earlier heads' public keys (PEM or base64), still trusted after a key rotation.",
    )
    audit_head_every_events: int = Field(
        default=1000, ge=1, description="Sign a tree head after this many events."
    )
    audit_head_every_seconds: float = Field(
        default=60.0, gt=0, description="... or after this long, whichever comes first (if the tree grew)."
    )
    audit_sequencer_interval_seconds: float = Field(
        default=0.2,
        gt=0,
        description="How long the sequencer waits when the queue is empty: the lag's floor.",
    )
    audit_sequencer_batch: int = Field(default=2000, ge=1, description="Events integrated per transaction.")

    demo_data: bool = Field(default=True, description="Load the demo portfolio into an empty database.")
    demo_portfolio_loans: int = Field(
        default=0,
        ge=0,
        le=1_000_000,
        description="Beside the 16 hand-made demo cases, a synthetic portfolio of this many loans "
        "(as `arrears simulate portfolio` writes it); 0: none.",
    )
    demo_portfolio_months: int = Field(
        default=12, ge=1, le=120, description="Months of the synthetic history."
    )
    demo_portfolio_seed: int = Field(default=1, ge=0, description="The synthetic portfolio's seed.")
    collection_costs: dict[str, Decimal] = Field(
        default_factory=dict,
        description='Cost of one item for the KPI cost per unit collected, by channel ("email", "sms", '
        '"letter", "call") or by pack and channel ("us_mortgage:call"), as JSON; empty: not computed.',
    )
    close_requires_approval: bool = Field(
        default=False, description="Four eyes: a supervisor's close waits for a second supervisor's approval."
    )

    @field_validator(
        "temporal_tls_cert",
        "temporal_tls_key",
        "temporal_tls_ca",
        "temporal_tls_server_name",
        "temporal_api_key",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # compose files and secret stores hand over "" for a variable they leave out
        return None if value == "" else value

    @model_validator(mode="after")
    def _fail_closed(self) -> Settings:
        problems = self._secret_problems() + self._database_problems() + self._temporal_problems()
        rs256 = self.environment == "production" and self.jwt_algorithm == "RS256"
        if rs256 and not (self.jwt_public_key or self.jwt_jwks_url):
            problems.append("JWT_PUBLIC_KEY or JWT_JWKS_URL is required for RS256")
        if self.environment == "production" and self.oidc_issuer is not None and self.web_secret is None:
            problems.append(
                "WEB_SECRET is required with OIDC_ISSUER in production (the same on every replica)"
            )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def _secret_problems(self) -> list[str]:
        secrets = {"PAYMENTS_WEBHOOK_SECRET": (self.payments_webhook_secret, DEV_WEBHOOK_SECRET)}
        if self.jwt_algorithm == "HS256":
            secrets = {"JWT_SIGNING_KEY": (self.jwt_signing_key, DEV_SIGNING_KEY), **secrets}
        servers = self._configured_servers()
        configured = " and ".join(servers) + (" are" if len(servers) > 1 else " is")
        problems = []
        for name, (secret, development_value) in secrets.items():
            value = secret.get_secret_value()
            if value == development_value:
                if self.environment == "production":
                    problems.append(f"{name} must be set to a real secret in production")
                elif not self.is_local:
                    problems.append(
                        f"{name} is the development secret while {configured} set: set a real "
                        f"secret of at least {MIN_SECRET_BYTES} bytes, or ENVIRONMENT=development explicitly"
                    )
            elif not self.is_development and len(value.encode()) < MIN_SECRET_BYTES:
                problems.append(
                    f"{name} must be at least {MIN_SECRET_BYTES} bytes outside development "
                    f"(it is {len(value.encode())})"
                )
        return problems

    def _database_problems(self) -> list[str]:
        if self.migration_database_url is None:
            return []
        if self.database_url is None:
            return ["MIGRATION_DATABASE_URL needs DATABASE_URL: the embedded PostgreSQL has its own owner"]
        if self.migration_database_url == self.database_url and not self.is_local:
            return [
                "MIGRATION_DATABASE_URL and DATABASE_URL must log in as different roles: the schema's "
                "owner migrates, the application logs in as a role that owns nothing"
            ]
        return []

    def _temporal_problems(self) -> list[str]:
        problems = []
        if (self.temporal_tls_cert is None) != (self.temporal_tls_key is None):
            problems.append(
                "TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together: set both for mTLS, or neither"
            )
        if self.temporal_tls is False and self._temporal_tls_asked():
            problems.append(
                "TEMPORAL_TLS=false contradicts TEMPORAL_API_KEY or a TEMPORAL_TLS_* setting: "
                "an API key or a client certificate never travels in clear text"
            )
        if self.temporal_address is None and (self.temporal_tls or self._temporal_tls_asked()):
            problems.append(
                "TEMPORAL_TLS* and TEMPORAL_API_KEY need TEMPORAL_ADDRESS: the embedded dev server "
                "speaks plain text on 127.0.0.1"
            )
        client_auth = self.temporal_tls_cert is not None or self.temporal_api_key is not None
        if self.environment == "production" and self.temporal_address is not None and not client_auth:
            problems.append(
                "TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY (mTLS) or TEMPORAL_API_KEY is required in "
                "production: whoever reaches an open frontend can signal any case, a forged payment too"
            )
        return problems

    def _temporal_tls_asked(self) -> bool:
        return any(
            value is not None
            for value in (
                self.temporal_tls_cert,
                self.temporal_tls_key,
                self.temporal_tls_ca,
                self.temporal_tls_server_name,
                self.temporal_api_key,
            )
        )

    @property
    def temporal_tls_enabled(self) -> bool:
        """Whether clients speak TLS to the frontend: asked for, or implied by a key or a TLS file."""
        return self.temporal_tls if self.temporal_tls is not None else self._temporal_tls_asked()

    def _configured_servers(self) -> list[str]:
        return [
            name
            for name, value in (
                ("DATABASE_URL", self.database_url),
                ("TEMPORAL_ADDRESS", self.temporal_address),
            )
            if value is not None
        ]

    @property
    def is_development(self) -> bool:
        """Development: said explicitly, or left at the default while every server is embedded."""
        if self.environment != "development":
            return False
        return "environment" in self.model_fields_set or not self._configured_servers()

    @property
    def is_local(self) -> bool:
        """Development (see `is_development`) or the test suite's own servers.

        Local processes keep the development secrets, may migrate with DATABASE_URL, and are
        warned rather than stopped when the database login could undo the audit trail.
        """
        return self.is_development or self.environment == "test"

    @property
    def migration_url(self) -> str | None:
        """What migrations log in with: MIGRATION_DATABASE_URL, or DATABASE_URL where local."""
        if self.migration_database_url is not None:
            return self.migration_database_url
        return self.database_url if self.is_local else None

    @property
    def audit_key_file(self) -> Path:
        """Where development keeps its generated audit signing key."""
        return self.data_dir / "audit-signing-key.pem"

    @property
    def embedded_postgres(self) -> bool:
        """True when no DATABASE_URL is given and the embedded server must run."""
        return self.database_url is None

    @property
    def embedded_temporal(self) -> bool:
        """True when no TEMPORAL_ADDRESS is given and the dev server must run."""
        return self.temporal_address is None


class SettingsError(SystemExit):
    """The environment's configuration is refused; the message names each variable and why.

    A `SystemExit`, so that a process refusing to start prints the message, not a stack.
    """


def describe(error: ValidationError) -> str:
    """One line per refused setting, each naming its environment variable."""
    lines = []
    for item in error.errors():
        message = str(item["msg"]).removeprefix("Value error, ")
        if item["loc"]:
            name = "_".join(str(part) for part in item["loc"]).upper()
            lines.append(f"{name}: {message}")
        else:
            lines.extend(message.split("; "))
    return "refusing to start, the configuration is unsafe or invalid:\n" + "\n".join(
        f"  - {line}" for line in lines
    )


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings; an unsafe or invalid configuration stops the process."""
    try:
        return Settings()
    except ValidationError as exc:
        raise SettingsError(describe(exc)) from None
