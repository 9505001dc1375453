"""Settings: embedded by default, production mode when servers are configured, no dev secrets."""

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from arrears.settings import DEV_SIGNING_KEY, DEV_WEBHOOK_SECRET, Settings

REAL_KEY = "k" * 32
REAL_SECRET = "s" * 40
ARREARS = str(Path(sys.executable).parent / "arrears")


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only what a test sets: nothing from the shell that runs the suite."""
    for name in list(os.environ):
        if name in Settings.model_fields or name.lower() in Settings.model_fields:
            monkeypatch.delenv(name)


def test_embedded_servers_unless_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(_env_file=None)
    assert settings.embedded_postgres and settings.embedded_temporal
    monkeypatch.setenv("ENVIRONMENT", "development")
    monkeypatch.setenv("DATABASE_URL", "postgresql://db.internal/arrears")
    monkeypatch.setenv("TEMPORAL_ADDRESS", "temporal.internal:7233")
    configured = Settings(_env_file=None)
    assert not configured.embedded_postgres and not configured.embedded_temporal


def test_production_refuses_the_development_signing_key() -> None:
    with pytest.raises(ValidationError, match="JWT_SIGNING_KEY"):
        Settings(_env_file=None, environment="production")
    with pytest.raises(ValidationError, match="PAYMENTS_WEBHOOK_SECRET"):
        Settings(_env_file=None, environment="production", jwt_signing_key=REAL_KEY)
    Settings(
        _env_file=None,
        environment="production",
        jwt_signing_key=REAL_KEY,
        payments_webhook_secret=REAL_SECRET,
    )


@pytest.mark.parametrize(
    ("variable", "value"),
    [("DATABASE_URL", "postgresql://db.internal/arrears"), ("TEMPORAL_ADDRESS", "temporal.internal:7233")],
)
def test_a_configured_server_with_a_development_secret_needs_development_said_out_loud(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError) as refused:
        Settings(_env_file=None)  # ENVIRONMENT left at its default does not count
    message = str(refused.value)
    assert "JWT_SIGNING_KEY" in message and "PAYMENTS_WEBHOOK_SECRET" in message
    assert variable in message and "ENVIRONMENT=development" in message

    monkeypatch.setenv("JWT_SIGNING_KEY", REAL_KEY)
    with pytest.raises(ValidationError, match="PAYMENTS_WEBHOOK_SECRET") as refused:
        Settings(_env_file=None)
    assert "JWT_SIGNING_KEY" not in str(refused.value)

    monkeypatch.setenv("PAYMENTS_WEBHOOK_SECRET", REAL_SECRET)
    Settings(_env_file=None)  # real secrets: nothing to refuse


@pytest.mark.parametrize("environment", ["development", "test"])
def test_development_and_test_said_out_loud_may_use_the_development_secrets(
    monkeypatch: pytest.MonkeyPatch, environment: str
) -> None:
    monkeypatch.setenv("ENVIRONMENT", environment)
    monkeypatch.setenv("DATABASE_URL", "postgresql://localhost/arrears")
    monkeypatch.setenv("TEMPORAL_ADDRESS", "localhost:7233")
    settings = Settings(_env_file=None)
    assert settings.jwt_signing_key.get_secret_value() == DEV_SIGNING_KEY
    assert settings.payments_webhook_secret.get_secret_value() == DEV_WEBHOOK_SECRET
    # and so may the constructor's argument, as the test suite passes it
    Settings(_env_file=None, environment=environment, database_url="postgresql://localhost/arrears")


def test_secrets_are_at_least_32_bytes_outside_development() -> None:
    short = "x" * 31
    with pytest.raises(ValidationError, match="JWT_SIGNING_KEY must be at least 32 bytes"):
        Settings(
            _env_file=None,
            environment="production",
            jwt_signing_key=short,
            payments_webhook_secret=REAL_SECRET,
        )
    with pytest.raises(ValidationError, match="PAYMENTS_WEBHOOK_SECRET must be at least 32 bytes"):
        Settings(
            _env_file=None, environment="production", jwt_signing_key=REAL_KEY, payments_webhook_secret=short
        )
    # bytes, not characters: 11 three-byte characters are 33 bytes
    Settings(
        _env_file=None, environment="test", jwt_signing_key="€" * 11, payments_webhook_secret=REAL_SECRET
    )
    # a configured server without ENVIRONMENT is not development either
    with pytest.raises(ValidationError, match="JWT_SIGNING_KEY must be at least 32 bytes"):
        Settings(
            _env_file=None,
            database_url="postgresql://db.internal/arrears",
            jwt_signing_key=short,
            payments_webhook_secret=REAL_SECRET,
        )
    # development may use what it likes
    Settings(_env_file=None, environment="development", jwt_signing_key="dev", payments_webhook_secret="dev")


def test_rs256_needs_no_signing_key_but_a_public_key() -> None:
    with pytest.raises(ValidationError, match="JWT_PUBLIC_KEY or JWT_JWKS_URL"):
        Settings(
            _env_file=None,
            environment="production",
            jwt_algorithm="RS256",
            payments_webhook_secret=REAL_SECRET,
        )
    Settings(
        _env_file=None,
        environment="production",
        jwt_algorithm="RS256",
        jwt_jwks_url="https://idp.internal/jwks",
        payments_webhook_secret=REAL_SECRET,
    )


def test_the_process_refuses_to_start_and_names_the_variable() -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if k.lower() not in Settings.model_fields and k not in Settings.model_fields
    }
    env |= {"DATABASE_URL": "postgresql://db.internal/arrears", "TEMPORAL_ADDRESS": "temporal.internal:7233"}
    done = subprocess.run(
        [ARREARS, "worker"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode != 0
    assert "JWT_SIGNING_KEY" in done.stderr and "PAYMENTS_WEBHOOK_SECRET" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout  # a message, not a stack


@pytest.fixture
def pem(tmp_path: Path) -> Path:
    """Any readable file stands for a PEM here; the TLS tests use real ones."""
    path = tmp_path / "some.pem"
    path.write_text("-----BEGIN CERTIFICATE-----\n")
    return path


def test_a_client_certificate_needs_its_key_and_the_key_its_certificate(pem: Path) -> None:
    base: dict[str, Any] = {
        "_env_file": None,
        "environment": "development",
        "temporal_address": "temporal.internal:7233",
    }
    with pytest.raises(ValidationError, match="TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together"):
        Settings(**base, temporal_tls_cert=pem)
    with pytest.raises(ValidationError, match="TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together"):
        Settings(**base, temporal_tls_key=pem)
    both = Settings(**base, temporal_tls_cert=pem, temporal_tls_key=pem)
    assert both.temporal_tls_enabled


def test_a_missing_tls_file_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ENVIRONMENT", "development")
    monkeypatch.setenv("TEMPORAL_ADDRESS", "temporal.internal:7233")
    monkeypatch.setenv("TEMPORAL_TLS_CA", str(tmp_path / "nowhere.pem"))
    with pytest.raises(ValidationError, match="temporal_tls_ca"):
        Settings(_env_file=None)


def test_an_api_key_turns_tls_on_and_refuses_to_go_without_it(pem: Path) -> None:
    base: dict[str, Any] = {
        "_env_file": None,
        "environment": "development",
        "temporal_address": "ns.acct.tmprl.cloud:7233",
    }
    keyed = Settings(**base, temporal_api_key="a-key-from-the-cloud")
    assert keyed.temporal_tls_enabled
    with pytest.raises(ValidationError, match="TEMPORAL_TLS=false"):
        Settings(**base, temporal_api_key="a-key-from-the-cloud", temporal_tls=False)
    with pytest.raises(ValidationError, match="TEMPORAL_TLS=false"):
        Settings(**base, temporal_tls_ca=pem, temporal_tls=False)
    plain = Settings(**base)
    assert not plain.temporal_tls_enabled
    assert Settings(**base, temporal_tls=True).temporal_tls_enabled


def test_tls_and_api_key_need_a_configured_cluster(pem: Path) -> None:
    with pytest.raises(ValidationError, match="need TEMPORAL_ADDRESS"):
        Settings(_env_file=None, temporal_api_key="a-key-from-the-cloud")
    with pytest.raises(ValidationError, match="need TEMPORAL_ADDRESS"):
        Settings(_env_file=None, temporal_tls_cert=pem, temporal_tls_key=pem)


def test_production_refuses_an_open_frontend(pem: Path) -> None:
    base: dict[str, Any] = {
        "_env_file": None,
        "environment": "production",
        "jwt_signing_key": REAL_KEY,
        "payments_webhook_secret": REAL_SECRET,
        "temporal_address": "temporal.internal:7233",
    }
    with pytest.raises(
        ValidationError, match=r"TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY \(mTLS\) or TEMPORAL_API_KEY"
    ):
        Settings(**base)
    with pytest.raises(ValidationError, match="TEMPORAL_API_KEY"):
        Settings(**base, temporal_tls=True, temporal_tls_ca=pem)  # TLS, but anyone may connect
    Settings(**base, temporal_tls_cert=pem, temporal_tls_key=pem, temporal_tls_ca=pem)
    Settings(**base, temporal_api_key="a-key-from-the-cloud")


def test_empty_tls_variables_are_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TEMPORAL_TLS_CERT", "TEMPORAL_TLS_KEY", "TEMPORAL_TLS_CA", "TEMPORAL_API_KEY"):
        monkeypatch.setenv(name, "")
    settings = Settings(_env_file=None)
    assert settings.temporal_api_key is None and not settings.temporal_tls_enabled
