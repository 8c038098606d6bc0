"""`oms worker`: Dramatiq workers, their watchdog, and the periodic scheduler."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from app.cli.common import ensure_services, main


@main.command()
@click.option("--processes", default=1, show_default=True, help="worker processes")
@click.option("--threads", default=4, show_default=True, help="threads per process")
def worker(processes: int, threads: int) -> None:
    """Run Dramatiq workers and the periodic scheduler (outbox relay, expiries). If a worker
    process dies (killed, out of memory), Dramatiq stops the others; they are started again,
    and the dead one's unacknowledged messages are redelivered after its heartbeat times out.
    Should Dramatiq hang while stopping (a worker blocked on a Redis that is down), the whole
    group is killed and started again after `WORKERS_MISSING_GRACE` seconds."""
    ensure_services()

    def start() -> subprocess.Popen[bytes]:
        command = [sys.executable, "-m", "dramatiq", "app.worker", "--processes", str(processes)]
        # Its own process group, so that a hung Dramatiq can be killed with its workers.
        return subprocess.Popen([*command, "--threads", str(threads)], env=os.environ.copy(), start_new_session=True)

    proc = start()
    missing_since: float | None = None
    stop = False
    restart_at: float | None = None

    def on_signal(signum: int, _frame: Any) -> None:
        nonlocal stop
        stop = True
        proc.send_signal(signum)

    # At once, before the slow imports below: Dramatiq runs in its own session, so if this
    # process died of a SIGTERM now, nobody would stop it.
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    from app.worker import PERIODIC

    def should_stop() -> bool:
        nonlocal proc, restart_at, missing_since
        if stop:
            return True
        if proc.poll() is None:
            missing_since = _watch_workers(proc, processes, missing_since)
            return False
        if proc.returncode == 2:  # Dramatiq's RET_IMPORT: the code is broken, a restart cannot help
            return True
        if restart_at is None:
            click.echo(f"worker: dramatiq exited with code {proc.returncode}; restarting", err=True)
            restart_at = time.monotonic() + 1.0
        elif time.monotonic() >= restart_at:
            proc, restart_at, missing_since = start(), None, None
        return False

    run_scheduler(PERIODIC, should_stop)
    proc.wait()
    if not stop:
        sys.exit(proc.returncode)


WORKERS_MISSING_GRACE = 15.0


def _watch_workers(proc: subprocess.Popen[bytes], expected: int, missing_since: float | None) -> float | None:
    """Kill Dramatiq's process group when fewer than `expected` worker processes have been
    alive for longer than the grace period (seen when a worker died and another blocked in its
    shutdown on an unreachable Redis: Dramatiq waited for it forever, and nothing relayed the
    outbox). Returns since when workers are missing (None: all there, or not Linux)."""
    alive = _alive_children(proc.pid)
    if alive is None or alive >= expected:
        return None
    now = time.monotonic()
    if missing_since is None:
        return now
    if now - missing_since > WORKERS_MISSING_GRACE:
        click.echo(
            f"worker: {alive} of {expected} dramatiq workers alive for {WORKERS_MISSING_GRACE:.0f} s; killing", err=True
        )
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        return None
    return missing_since


def _alive_children(pid: int) -> int | None:
    """Child processes of `pid` that are not zombies (Linux /proc; None elsewhere)."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return None
    alive = 0
    for child in children:
        try:
            state = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        alive += state not in ("Z", "X")
    return alive


def run_scheduler(periodic: list[tuple[str, float]], should_stop: Callable[[], bool]) -> None:
    """Send each periodic actor every N seconds. Several schedulers may run: every periodic
    actor is idempotent, so the only cost of overlap is a wasted query."""
    import dramatiq

    broker = dramatiq.get_broker()
    due = dict.fromkeys((name for name, _ in periodic), 0.0)
    while not should_stop():
        now = time.monotonic()
        for name, interval in periodic:
            if now >= due[name]:
                try:
                    broker.enqueue(
                        dramatiq.Message(queue_name="default", actor_name=name, args=(), kwargs={}, options={})
                    )
                except Exception as exc:  # Redis down: try again next tick
                    click.echo(f"scheduler: could not enqueue {name}: {type(exc).__name__}", err=True)
                due[name] = now + interval
        time.sleep(0.2)
