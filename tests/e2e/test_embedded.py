"""A fresh machine: no DATABASE_URL / REDIS_URL. The service boots embedded PostgreSQL and Redis
in its data folder and answers a real, authenticated request."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support import free_port

pytestmark = pytest.mark.slow


def _embedded_env(data_dir: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update({"OMS_DATA_DIR": str(data_dir), "OMS_PORT": str(port), "OMS_LOG_LEVEL": "WARNING"})
    return env


def _stop_embedded_servers(data_dir: Path) -> None:
    """Embedded servers outlive the service on purpose (the next run reuses them); a test must not."""
    postmaster = data_dir / "pg" / "postmaster.pid"
    if postmaster.exists():
        _kill(int(postmaster.read_text().split()[0]), signal.SIGINT)  # PostgreSQL's fast shutdown
    settings = data_dir / "redis" / "redis.db.settings"
    if settings.exists():
        pidfile = Path(json.loads(settings.read_text())["pidfile"])
        if pidfile.exists():
            _kill(int(pidfile.read_text().strip()), signal.SIGTERM)


def _kill(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def test_service_boots_embedded_servers_and_serves(tmp_path: Path) -> None:
    port = free_port()
    env = _embedded_env(tmp_path / "data", port)
    created = subprocess.run(
        [sys.executable, "-m", "app.cli", "keys", "create", "--role", "storefront"],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert created.returncode == 0, created.stderr[-2000:]
    key = created.stdout.strip().splitlines()[-1]
    assert key.startswith("oms_stor_")
    server = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        ready = None
        while time.monotonic() < deadline:
            try:
                ready = httpx.get(f"{base}/ready", timeout=2)
                if ready.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None, server.stderr.read().decode()[-2000:] if server.stderr else "server died"
            time.sleep(0.5)
        assert ready is not None and ready.status_code == 200, "embedded service never became ready"
        assert ready.json() == {"status": "ready", "database": "ok", "redis": "ok"}
        assert httpx.get(f"{base}/v1/products", timeout=5).status_code == 401
        listed = httpx.get(f"{base}/v1/products", headers={"Authorization": f"Bearer {key}"}, timeout=5)
        assert listed.status_code == 200, listed.text
        assert (tmp_path / "data" / "pg" / "PG_VERSION").exists()
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        _stop_embedded_servers(tmp_path / "data")
