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
