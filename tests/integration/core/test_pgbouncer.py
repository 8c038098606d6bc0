"""The app behind a real PgBouncer (Debian's package, 1.18 here) in session mode, and why not in
transaction mode (README, "Connection poolers"). Skips only when pgbouncer is not installed."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from sqlalchemy import exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.auth import Role, create_key
from app.core.db import create_engine, create_sessionmaker, fetchval
from app.core.settings import Settings
from app.main import create_app
from tests.conftest import SETTINGS

# PgBouncer refuses startup parameters it does not know; these are then dropped, so behind a
# pooler set them on the role or database (README).
IGNORED = "statement_timeout,lock_timeout,plan_cache_mode"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
async def pgbouncer() -> AsyncIterator[Callable[[str], Settings]]:
    """`start("session")`: the settings of the test database reached through a PgBouncer."""
    binary = shutil.which("pgbouncer") or ("/usr/sbin/pgbouncer" if Path("/usr/sbin/pgbouncer").exists() else None)
    if binary is None:
        pytest.skip("pgbouncer is not installed (Debian: apt-get install pgbouncer)")
    root = Path(tempfile.mkdtemp(prefix="oms-pgbouncer-"))
    processes: list[subprocess.Popen[bytes]] = []
    server = make_url(SETTINGS.async_database_url)

    def start(pool_mode: str) -> Settings:
        port = _free_port()
        (root / "users.txt").write_text(f'"{server.username}" ""\n')
        (root / f"{pool_mode}.ini").write_text(
            "[databases]\n"
            f"{server.database} = host={server.host} port={server.port or 5432} dbname={server.database}\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
            f"auth_type = trust\nauth_file = {root / 'users.txt'}\n"
            f"pool_mode = {pool_mode}\ndefault_pool_size = 4\nignore_startup_parameters = {IGNORED}\n"
            f"logfile = {root / pool_mode}.log\n"
        )
        if os.geteuid() == 0:  # pgbouncer refuses to run as root
            shutil.chown(root, "postgres")
            for file in root.iterdir():
                shutil.chown(file, "postgres")
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        processes.append(subprocess.Popen([*prefix, binary, str(root / f"{pool_mode}.ini")]))
        for _ in range(100):
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if processes[-1].poll() is not None:
                raise AssertionError(f"pgbouncer exited: {(root / f'{pool_mode}.log').read_text()}")
            subprocess.run(["sleep", "0.05"], check=True)
        url = server.set(port=port, host="127.0.0.1").render_as_string(hide_password=False)
        return replace(SETTINGS, database_url=url)

    yield start
    for process in processes:
        process.terminate()
        process.wait(timeout=10)
    shutil.rmtree(root, ignore_errors=True)


async def test_the_api_works_behind_pgbouncer_in_session_mode(
    pgbouncer: Callable[[str], Settings], committed: async_sessionmaker[AsyncSession]
) -> None:
    settings = pgbouncer("session")
    async with committed() as session:
        _, key = await create_key(session, role=Role.ADMIN, name="pgbouncer")
        await session.commit()
    app = create_app(settings, log=False)
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://oms.test") as http:
        try:
            for n in range(3):  # concurrent requests on several pooled connections, each more than once
                body = {"code": f"PB-{n}", "name": "Shirt", "variants": [{"sku": f"PB-{n}-M", "size": "M"}]}
                created = await http.post("/v1/products", json=body, headers={**headers, "Idempotency-Key": f"pb-{n}"})
                assert created.status_code == 201, created.text
                reads = await asyncio.gather(
                    *(http.get(f"/v1/products/{created.json()['id']}", headers=headers) for _ in range(4))
                )
                assert [r.status_code for r in reads] == [200] * 4
            listed = await http.get("/v1/products", headers=headers)
            assert sorted(p["code"] for p in listed.json()["items"]) == ["PB-0", "PB-1", "PB-2"]
        finally:
            await app.state.sessionmaker.kw["bind"].dispose()


async def test_transaction_mode_loses_the_prepared_statements(pgbouncer: Callable[[str], Settings]) -> None:
    """Why README says not to use PgBouncer < 1.21 in transaction mode: a statement prepared in
    one transaction is gone in the next, which runs on another server connection."""
    engine = create_engine(pgbouncer("transaction"))
    maker = create_sessionmaker(engine)
    try:

        async def twice(n: int) -> None:
            for _ in range(5):
                async with maker() as session, session.begin():
                    await fetchval(session, f"SELECT {n}::int + $1", 1)
                    await asyncio.sleep(0.01)

        with pytest.raises(exc.DBAPIError, match="prepared statement"):
            await asyncio.gather(*(twice(n) for n in range(4)))
    finally:
        await engine.dispose()
