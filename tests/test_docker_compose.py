"""docker-compose.yml describes the production topology (no Docker engine here to run it)."""

from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent


def _compose() -> dict[str, Any]:
    compose: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return compose


def test_compose_has_every_production_service() -> None:
    services = _compose()["services"]
    assert {
        "postgres",
        "temporal",
        "temporal-admin-tools",
        "temporal-ui",
        "arrears-worker",
        "arrears-api",
    } <= set(services)


def test_temporal_persists_to_postgres_after_admin_tools_set_up_its_schema() -> None:
    services = _compose()["services"]
    temporal = services["temporal"]
    assert temporal["environment"]["DB"] == "postgres12"
    assert temporal["environment"]["POSTGRES_SEEDS"] == "postgres"
    assert temporal["depends_on"]["temporal-admin-tools"]["condition"] == "service_completed_successfully"
    assert services["temporal-admin-tools"]["environment"]["SQL_PLUGIN"] == "postgres12"
    assert services["temporal-ui"]["environment"]["TEMPORAL_ADDRESS"] == "temporal:7233"


def test_arrears_services_are_built_here_and_wired_by_environment() -> None:
    services = _compose()["services"]
    for name in ("arrears-worker", "arrears-api"):
        service = services[name]
        assert service["build"] == "."
        env = service["environment"]
        assert env["DATABASE_URL"].endswith("@postgres:5432/arrears")
        assert env["TEMPORAL_ADDRESS"] == "temporal:7233"
        assert env["ENVIRONMENT"] == "production"
    assert services["arrears-worker"]["command"] == ["arrears", "worker"]
    assert services["arrears-api"]["command"] == ["arrears", "api"]
    assert (ROOT / "Dockerfile").exists()


def _ports(service: dict[str, Any]) -> list[str]:
    return [str(port) for port in service.get("ports", [])]


def test_the_temporal_frontend_is_reached_only_on_the_internal_network() -> None:
    # Whoever reaches port 7233 can signal any case: a forged payment closes it as cured.
    compose = _compose()
    services = compose["services"]
    assert "ports" not in services["temporal"]
    assert services["temporal"]["networks"] == ["internal"]
    assert compose["networks"]["internal"]["internal"] is True
    for name, service in services.items():
        for port in _ports(service):
            assert "7233" not in port, f"{name} publishes the frontend: {port}"
            assert name == "arrears-api" or port.startswith("127.0.0.1:"), f"{name} publishes {port}"


def test_temporal_requires_mutual_tls_and_every_client_presents_a_certificate() -> None:
    compose = _compose()
    services = compose["services"]
    env = services["temporal"]["environment"]
    assert env["TEMPORAL_TLS_REQUIRE_CLIENT_AUTH"] == "true"
    for variable in (
        "TEMPORAL_TLS_FRONTEND_CERT",
        "TEMPORAL_TLS_FRONTEND_KEY",
        "TEMPORAL_TLS_CLIENT1_CA_CERT",
    ):
        assert env[variable].startswith("/run/secrets/")
    for name in ("arrears-migrate", "arrears-worker", "arrears-api"):
        service = services[name]
        env = service["environment"]
        mounted = {f"/run/secrets/{secret}" for secret in service["secrets"]}
        for variable in ("TEMPORAL_TLS_CERT", "TEMPORAL_TLS_KEY", "TEMPORAL_TLS_CA"):
            assert env[variable] in mounted, (name, variable)
    ui = services["temporal-ui"]
    assert ui["environment"]["TEMPORAL_TLS_CERT"] in {f"/run/secrets/{s}" for s in ui["secrets"]}
    assert ui["environment"]["TEMPORAL_TLS_ENABLE_HOST_VERIFICATION"] == "true"
    assert set(compose["secrets"]) >= {
        "temporal-ca",
        "temporal-server-cert",
        "temporal-server-key",
        "temporal-client-cert",
        "temporal-client-key",
    }


def test_the_temporal_ui_listens_on_loopback_only_and_cannot_signal() -> None:
    ui = _compose()["services"]["temporal-ui"]
    assert _ports(ui) and all(port.startswith("127.0.0.1:") for port in _ports(ui))
    assert ui["environment"]["TEMPORAL_DISABLE_WRITE_ACTIONS"] == "true"


def test_migrations_run_as_the_owner_and_the_application_logs_in_as_a_role_that_owns_nothing() -> None:
    compose = _compose()
    services = compose["services"]
    for name in ("arrears-worker", "arrears-api"):
        env = services[name]["environment"]
        assert env["DATABASE_URL"].startswith("postgresql+psycopg://arrears_app:")
        assert "MIGRATION_DATABASE_URL" not in env
    migrate = services["arrears-migrate"]
    assert migrate["command"] == ["arrears", "migrate"]
    assert migrate["environment"]["MIGRATION_DATABASE_URL"].startswith("postgresql+psycopg://arrears_owner:")
    # the roles come from the database's first start: both log in, the owner owns the database
    init = compose["configs"]["postgres-roles"]["content"]
    assert "CREATE ROLE arrears_owner LOGIN" in init and "CREATE ROLE arrears_app LOGIN" in init
    assert "CREATE DATABASE arrears OWNER arrears_owner" in init
    assert "GRANT arrears_owner" not in init and "SUPERUSER" not in init.replace("NOSUPERUSER", "")
    mounts = services["postgres"]["configs"]
    assert any(
        m["source"] == "postgres-roles" and "docker-entrypoint-initdb.d" in m["target"] for m in mounts
    )
    # Temporal keeps its own login and databases
    assert services["temporal"]["environment"]["POSTGRES_USER"] == "temporal"
