"""Order placement against its floor, in one run: the full service under uvicorn and under
granian, then the bare one-statement order (`ops/bench/bare_order.py`) under both, then
`pgbench -N`, all on one scratch database seeded exactly like `orders_place.py` (same 50 SKUs,
same warehouses, same storefront key) and loaded by the same keep-alive clients with the same
request bodies. Prints each phase's figures (orders/s, latency percentiles, CPU per request)
and a summary: the service's orders/s as a fraction of the bare order's under the same server.
It asserts nothing: figures go to ops/bench/RESULTS.md.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/0 \
        .venv/bin/python ops/bench/orders_floor.py --clients 32 --seconds 30 --workers 2

--servers uvicorn,granian picks the ASGI servers (both by default); --skip-pgbench leaves out
pgbench. The full service runs without its migration step here (the database is migrated
first), `app.asgi:app` directly, with access logs off under both servers.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
from alembic import command

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parents[1]), str(HERE)]  # the repository (app, tests) and this folder

import orders_place as bench  # noqa: E402

from tests.support import alembic_config, drop_database, recreate_database  # noqa: E402

ROOT = bench.ROOT
BIN = Path(sys.executable).parent


def server_command(server: str, target: str, port: int, workers: int) -> list[str]:
    """The command line serving the ASGI app `target` ("module:attribute")."""
    if server == "uvicorn":
        return [str(BIN / "uvicorn"), target, "--port", str(port), "--workers", str(workers),
                "--log-level", "warning", "--no-access-log"]  # fmt: skip
    return [str(BIN / "granian"), "--interface", "asgi", "--port", str(port), "--workers", str(workers),
            "--log-level", "warning", target]  # fmt: skip


def start(cmd: list[str], url: str, port: int, cwd: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": url, "OMS_LOG_LEVEL": "ERROR", "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.3)
    proc.kill()
    sys.exit(f"{' '.join(cmd)} did not start")


def phase(name: str, cmd: list[str], cwd: Path, port: int, args: argparse.Namespace, key: str,
          price: dict[str, int], url: str) -> float:  # fmt: skip
    print(f"\n== {name}: {' '.join(Path(c).name if i == 0 else c for i, c in enumerate(cmd))}")
    print(f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    proc = start(cmd, url, port, cwd)
    try:
        base = f"http://127.0.0.1:{port}"
        run = name.replace(", ", "-")
        return asyncio.run(bench.load(base, key, price, args.clients, args.seconds, proc.pid, url, run))
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--workers", type=int, default=2, help="processes per server")
    parser.add_argument("--servers", default="uvicorn,granian")
    parser.add_argument("--skip-pgbench", action="store_true")
    args = parser.parse_args()
    base = os.environ.get("DATABASE_URL") or sys.exit("set DATABASE_URL to a PostgreSQL server")
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
    url = recreate_database(base, bench.DB_NAME)
    os.environ["DATABASE_URL"] = url
    results: dict[str, float] = {}
    try:
        command.upgrade(alembic_config(url), "head")
        skus, key = asyncio.run(bench.seed())
        servers = [s.strip() for s in args.servers.split(",") if s.strip()]
        price: dict[str, int] = {}
        for server in servers:
            port = bench.free_port()
            cmd = server_command(server, "app.asgi:app", port, args.workers)
            if not price:  # the prices the service quotes, read through its own API once
                proc = start(cmd, url, port, ROOT)
                price = asyncio.run(bench.prices(f"http://127.0.0.1:{port}", key, skus))
                proc.terminate()
                proc.wait(timeout=30)
            results[f"service, {server}"] = phase(f"service, {server}", cmd, ROOT, port, args, key, price, url)
        for server in servers:
            port = bench.free_port()
            cmd = server_command(server, "bare_order:app", port, args.workers)
            results[f"bare, {server}"] = phase(f"bare, {server}", cmd, ROOT / "ops" / "bench", port, args, key,
                                               price, url)  # fmt: skip
        if not args.skip_pgbench:
            results["pgbench -N tps"] = bench.pgbench(base, args.clients, int(args.seconds))
    finally:
        drop_database(base, bench.DB_NAME)
    print("\n== summary (orders/s)")
    for name, value in results.items():
        print(f"{name}: {value:.1f}")
    for server in args.servers.split(","):
        full, bare = results.get(f"service, {server}"), results.get(f"bare, {server}")
        if full and bare:
            print(f"service / bare under {server}: {full / bare:.3f}")


if __name__ == "__main__":
    main()
