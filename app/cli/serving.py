"""`oms migrate | serve | demo`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from typing import Any

import click

from app.cli.common import ensure_services, main, migrate_to_head, run_async


@main.command()
def migrate() -> None:
    """Upgrade the database schema to the newest migration."""
    ensure_services()
    migrate_to_head()
    click.echo("database is at head")


@main.command()
@click.option("--host", default=None, help="bind address (default OMS_HOST or 127.0.0.1)")
@click.option("--port", default=None, type=int, help="port (default OMS_PORT or 8000)")
@click.option("--workers", default=1, show_default=True, help="API processes")
@click.option("--demo/--no-demo", default=False, help="seed the demo retailer first (idempotent)")
@click.option("--with-worker/--no-worker", default=False, help="also run one Dramatiq worker process")
def serve(host: str | None, port: int | None, workers: int, demo: bool, with_worker: bool) -> None:
    """Migrate, optionally seed the demo, and serve the API."""
    import uvicorn

    settings = ensure_services()
    migrate_to_head()
    if demo:
        from app.demo import seed_demo

        run_async(lambda: seed_demo(settings))
    worker_proc = None
    # uvicorn stops on SIGTERM, then raises the signal again with the handler it found: the
    # default one would end this process on the spot, leaving the worker behind. Exiting
    # through SystemExit instead runs the `finally` below, as Ctrl-C (KeyboardInterrupt) does.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    try:
        if with_worker:
            worker_proc = subprocess.Popen([sys.executable, "-m", "app.cli", "worker"], env=os.environ.copy())
        uvicorn.run(
            "app.asgi:app",
            host=host or settings.host,
            port=port or settings.port,
            workers=workers,
            log_config=None,
            access_log=False,
            proxy_headers=True,
            timeout_graceful_shutdown=10,
        )
    finally:
        if worker_proc is not None:
            _stop_worker(worker_proc)


def _exit_on_signal(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)


def _stop_worker(proc: subprocess.Popen[bytes]) -> None:
    """Stop `oms worker` (it stops its Dramatiq group and waits for it); kill it if it hangs."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM must not cut this short
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@main.command()
def demo() -> None:
    """Seed the demo retailer (idempotent) and print one API key per role."""
    settings = ensure_services()
    migrate_to_head()
    from app.demo import seed_demo

    run_async(lambda: seed_demo(settings))
