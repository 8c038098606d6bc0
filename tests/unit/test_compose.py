"""ops/compose.yaml, the documented production topology: its structure, the wiring of every
process to the primary, the replica and Redis, and the connection arithmetic of README.md.
(Docker cannot run where the tests run; this checks what can be checked without it.)"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from app.core.settings import VARIABLES

COMPOSE = Path(__file__).resolve().parents[2] / "ops" / "compose.yaml"
RESERVED = 3  # PostgreSQL's superuser_reserved_connections


def load() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return document


def option(command: list[str] | str, name: str) -> str:
    text = command if isinstance(command, str) else " ".join(command)
    found = re.search(rf"{re.escape(name)}[ =](\S+)", text)
    assert found, f"{name} not in {text!r}"
    return found.group(1)


def test_the_topology_has_its_services_and_they_depend_on_existing_ones() -> None:
    services = load()["services"]
    assert set(services) == {"postgres", "postgres-replica", "redis", "demo", "api", "worker", "lb"}
    for name, service in services.items():
        assert set(service.get("depends_on", {})) <= set(services), name
        for config in service.get("configs", []):
            assert config["source"] in load()["configs"], name
    assert services["api"]["deploy"]["replicas"] >= 2 and services["worker"]["deploy"]["replicas"] >= 2
    assert services["api"]["depends_on"]["demo"]["condition"] == "service_completed_successfully"


def test_every_oms_process_reaches_the_primary_the_replica_and_redis_by_service_name() -> None:
    services = load()["services"]
    for name in ("demo", "api", "worker"):
        env = services[name]["environment"]
        assert set(env) <= set(VARIABLES.values()), name  # no misspelt setting
        assert urlsplit(env["DATABASE_URL"]).hostname == "postgres"
        assert urlsplit(env["OMS_DATABASE_REPLICA_URL"]).hostname == "postgres-replica"
        assert urlsplit(env["REDIS_URL"]).hostname == "redis"
        password = services["postgres"]["environment"]["POSTGRES_PASSWORD"]
        assert urlsplit(env["DATABASE_URL"]).password == password
        assert urlsplit(env["DATABASE_URL"]).path == "/" + services["postgres"]["environment"]["POSTGRES_DB"]
    replica = services["postgres-replica"]
    assert option(replica["command"], "pg_basebackup -h") == "postgres"
    assert " -R " in replica["command"][0] and "hot_standby=on" in replica["command"][0]
    assert "host replication" in load()["configs"]["allow-replication"]["content"]


def test_the_load_balancer_spreads_over_the_api_nodes() -> None:
    document = load()
    lb_conf = document["configs"]["lb"]["content"]
    assert re.search(r"server api:8000\b", lb_conf)
    assert "8000" in document["services"]["api"]["expose"]
    assert document["services"]["lb"]["ports"] == ["8000:8000"]
    assert "ports" not in document["services"]["api"]  # only through the load balancer


def test_connections_per_process_times_processes_fit_max_connections() -> None:
    services = load()["services"]

    def per_process(name: str) -> int:
        env = services[name]["environment"]
        return int(env["OMS_DB_POOL_SIZE"]) + int(env["OMS_DB_MAX_OVERFLOW"])

    api = services["api"]["deploy"]["replicas"] * int(option(services["api"]["command"], "--workers"))
    workers = services["worker"]["deploy"]["replicas"] * int(option(services["worker"]["command"], "--processes"))
    primary_max = int(option(services["postgres"]["command"], "max_connections"))
    replica_max = int(option(services["postgres-replica"]["command"][0], "max_connections"))
    on_primary = api * per_process("api") + workers * per_process("worker") + per_process("demo")
    on_replica = api * per_process("api")  # only API processes read on the replica
    assert (on_primary, on_replica) == (195, 120)  # the figures README.md and the file's header give
    assert on_primary <= primary_max - RESERVED
    assert on_replica <= replica_max - RESERVED
    assert replica_max >= primary_max  # a hot standby refuses to start with fewer
