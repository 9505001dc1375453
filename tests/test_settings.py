"""Settings: embedded by default, production mode when servers are configured, no dev secrets."""

import pytest
from pydantic import ValidationError

from arrears.settings import Settings


def test_embedded_servers_unless_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("TEMPORAL_ADDRESS", raising=False)
    settings = Settings(_env_file=None)
    assert settings.embedded_postgres and settings.embedded_temporal
    monkeypatch.setenv("DATABASE_URL", "postgresql://db.internal/arrears")
    monkeypatch.setenv("TEMPORAL_ADDRESS", "temporal.internal:7233")
    configured = Settings(_env_file=None)
    assert not configured.embedded_postgres and not configured.embedded_temporal


def test_production_refuses_the_development_signing_key() -> None:
    with pytest.raises(ValidationError, match="JWT_SIGNING_KEY"):
        Settings(_env_file=None, environment="production")
    with pytest.raises(ValidationError, match="PAYMENTS_WEBHOOK_SECRET"):
        Settings(_env_file=None, environment="production", jwt_signing_key="a-real-secret-from-the-vault-xyz")
    Settings(
        _env_file=None,
        environment="production",
        jwt_signing_key="a-real-secret-from-the-vault-xyz",
        payments_webhook_secret="another-real-secret-from-the-vault",
    )
