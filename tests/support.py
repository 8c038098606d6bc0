"""Test plumbing: where the test database and Redis are, and how to build the schema.

Runs before any app module is imported (conftest imports it first), because the
Dramatiq broker reads REDIS_URL at import time.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent


def resolve_servers() -> tuple[str, str]:
    """DATABASE_URL / REDIS_URL when set, else the embedded servers in .oms-data/test."""
    if not os.environ.get("DATABASE_URL") or not os.environ.get("REDIS_URL"):
        os.environ.setdefault("OMS_DATA_DIR", str(ROOT / ".oms-data" / "test"))
        from app.core.embedded import ensure_services

        ensure_services()
    return os.environ["DATABASE_URL"], os.environ["REDIS_URL"]


def test_database_url(base_url: str, name: str) -> str:
    return make_url(base_url).set(database=name).render_as_string(hide_password=False)


def _admin_connect(base_url: str):  # type: ignore[no-untyped-def]
    import psycopg

    url = make_url(base_url)
    host = url.host or url.query.get("host")
    kwargs = {
        "host": host,
        "port": url.port,
        "user": url.username,
        "password": url.password,
        "dbname": "postgres",
        "autocommit": True,
    }
    return psycopg.connect(**{k: v for k, v in kwargs.items() if v is not None})


def recreate_database(base_url: str, name: str) -> str:
    """Drop and create `name` on the server of `base_url`; return its URL."""
    with _admin_connect(base_url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return test_database_url(base_url, name)


def drop_database(base_url: str, name: str) -> None:
    try:
        with _admin_connect(base_url) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    except Exception:
        pass


def alembic_config(url: str):  # type: ignore[no-untyped-def]
    from alembic.config import Config

    from app.core.settings import to_asyncpg_url

    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.attributes["url"] = to_asyncpg_url(url)
    return cfg


def free_port() -> int:
    """A TCP port nobody listens on right now, for a server a test starts."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
