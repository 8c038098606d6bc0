"""`oms serve | worker | migrate | demo | check | keys ... | catalog import ...`"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from app.core import embedded
from app.core.settings import Settings

T = TypeVar("T")
ROOT = Path(__file__).resolve().parent.parent


def ensure_services() -> Settings:
    """The servers' settings (embedded ones started if the URLs are unset); without the
    embedded extra, an unset URL is a one-line error naming the fix, not a traceback."""
    try:
        return embedded.ensure_services()
    except embedded.EmbeddedServersMissing as exc:
        raise click.ClickException(str(exc)) from None


def run_async(make: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(make())  # type: ignore[arg-type]


def migrate_to_head() -> None:
    from alembic import command
    from alembic.config import Config

    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    command.upgrade(cfg, "head")


@click.group()
def main() -> None:
    """Omnichannel OMS command line."""


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


@main.command()
def demo() -> None:
    """Seed the demo retailer (idempotent) and print one API key per role."""
    settings = ensure_services()
    migrate_to_head()
    from app.demo import seed_demo

    run_async(lambda: seed_demo(settings))


@main.group()
def keys() -> None:
    """API keys."""


@keys.command("create")
@click.option(
    "--role", required=True, type=click.Choice([r.value for r in __import__("app.core.auth", fromlist=["Role"]).Role])
)
@click.option("--channel", default=None)
@click.option("--location", default=None, help="location code the key acts for (kiosk, pos, logistics)")
@click.option("--name", default=None)
def keys_create(role: str, channel: str | None, location: str | None, name: str | None) -> None:
    """Create an API key; its plaintext is printed once and stored only as a hash."""
    settings = ensure_services()
    migrate_to_head()
    from app.core.auth import Channel, Role, create_key
    from app.core.db import create_engine, create_sessionmaker, transaction
    from app.core.errors import Problem

    async def go() -> str:
        engine = create_engine(settings)
        try:
            async with transaction(create_sessionmaker(engine)) as session:
                _, plaintext = await create_key(
                    session,
                    role=Role(role),
                    name=name or f"{role} key",
                    channel=Channel(channel) if channel else None,
                    location_code=location,
                )
                return plaintext
        finally:
            await engine.dispose()

    try:
        click.echo(run_async(go))
    except (Problem, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc


@keys.command("list")
@click.option("--all", "show_all", is_flag=True, help="include revoked keys")
def keys_list(show_all: bool) -> None:
    """List API keys (never their plaintext: only its first characters are kept)."""
    settings = ensure_services()
    migrate_to_head()
    from app.core.auth import list_keys
    from app.core.db import create_engine, create_sessionmaker, transaction
    from app.core.models import ApiKey

    async def go() -> list[ApiKey]:
        engine = create_engine(settings)
        found: list[ApiKey] = []
        cursor: str | None = None
        try:
            async with transaction(create_sessionmaker(engine)) as session:
                while True:
                    page = await list_keys(session, limit=200, cursor=cursor)
                    found += page.items
                    if page.next_cursor is None:
                        return found
                    cursor = page.next_cursor
        finally:
            await engine.dispose()

    def when(at: Any) -> str:
        return at.strftime("%Y-%m-%d %H:%M") if at else "-"

    click.echo("id\tname\trole\tchannel\tlocation\tprefix\tcreated\tlast used\trevoked")
    for k in run_async(go):
        if k.revoked_at is None or show_all:
            fields = [k.id, k.name, k.role, k.channel or "-", k.location_code or "-", k.prefix]
            click.echo("\t".join(map(str, [*fields, when(k.created_at), when(k.last_used_at), when(k.revoked_at)])))


@keys.command("revoke")
@click.argument("key_id", type=click.UUID)
def keys_revoke(key_id: Any) -> None:
    """Revoke an API key: every API process refuses it within OMS_KEY_CACHE_SECONDS."""
    settings = ensure_services()
    migrate_to_head()
    from app.core.auth import revoke_key
    from app.core.db import create_engine, create_sessionmaker, transaction
    from app.core.errors import Problem

    async def go() -> str:
        engine = create_engine(settings)
        try:
            async with transaction(create_sessionmaker(engine)) as session:
                key = await revoke_key(session, key_id)
                return f"revoked {key.id} ({key.name}, {key.role})"
        finally:
            await engine.dispose()

    try:
        click.echo(run_async(go))
    except Problem as exc:
        raise click.ClickException(str(exc)) from exc


@main.group()
def staff() -> None:
    """Staff accounts of the console (/console), separate from API keys."""


@staff.command("create")
@click.option("--email", required=True)
@click.option(
    "--role",
    required=True,
    type=click.Choice(["picker", "store_associate", "contact_center", "merchandiser", "manager", "admin"]),
)
@click.option("--location", default=None, help="location code the staff member works at (picker, store_associate)")
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    envvar="OMS_STAFF_PASSWORD",
    help="asked for when not given (OMS_STAFF_PASSWORD for scripts); stored as an argon2id hash",
)
def staff_create(email: str, role: str, location: str | None, password: str) -> None:
    """Create a staff account; the password is never printed or logged."""
    settings = ensure_services()
    migrate_to_head()
    from app.console.rules import StaffRole
    from app.console.service import create_staff
    from app.core.db import create_engine, create_sessionmaker, transaction
    from app.core.errors import Problem

    async def go() -> str:
        engine = create_engine(settings)
        try:
            async with transaction(create_sessionmaker(engine)) as session:
                member = await create_staff(
                    session, email=email, role=StaffRole(role), password=password, location_code=location
                )
                return f"staff {member.email} ({member.role}{', ' + location if location else ''}) created: {member.id}"
        finally:
            await engine.dispose()

    try:
        click.echo(run_async(go))
    except Problem as exc:
        raise click.ClickException(str(exc)) from exc


@main.group()
def catalog() -> None:
    """Catalog tools."""


@catalog.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--chunk-size", default=1000, show_default=True, type=click.IntRange(1, 5000), help="rows per transaction"
)
def catalog_import(file: Path, chunk_size: int) -> None:
    """Import a catalog CSV (columns: see app/catalog/service.py). Idempotent by SKU: a
    re-import updates. Bad lines are reported by number, the rest imports; exit code 1 if
    any line was rejected."""
    settings = ensure_services()
    from tqdm import tqdm

    from app.catalog.rules import CatalogRow, RowError, read_catalog_csv
    from app.catalog.service import ImportReport, upsert_catalog
    from app.core.db import create_engine, create_sessionmaker, transaction
    from app.core.errors import Problem

    async def go() -> ImportReport:
        engine = create_engine(settings)
        maker = create_sessionmaker(engine)
        report = ImportReport()
        pending: list[CatalogRow] = []

        async def flush() -> None:
            # One transaction per chunk: progress is durable, and a re-run is safe (idempotent by SKU).
            async with transaction(maker) as session:
                report.add(await upsert_catalog(session, pending, chunk_size=chunk_size))
            pending.clear()

        try:
            with file.open("rb") as raw:
                total = max(sum(1 for _ in raw) - 1, 0)  # lines, not records: a fine estimate for a bar
            with (
                file.open(encoding="utf-8-sig", newline="") as lines,
                tqdm(total=total, unit=" rows", disable=None) as bar,
            ):
                for item in read_catalog_csv(lines):
                    if isinstance(item, RowError):
                        report.rows += 1
                        report.errors.append(item)
                    else:
                        pending.append(item)
                    bar.update(1)
                    if len(pending) >= chunk_size:
                        await flush()
                if pending:
                    await flush()
        finally:
            await engine.dispose()
        report.errors.sort(key=lambda e: e.line)
        return report

    try:
        report = run_async(go)
    except (Problem, UnicodeDecodeError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"{report.rows} rows: products {report.products_created} created, {report.products_updated} updated; "
        f"variants {report.variants_created} created, {report.variants_updated} updated, "
        f"{report.variants_unchanged} unchanged; {len(report.errors)} rejected"
    )
    for error in report.errors:
        click.echo(f"line {error.line}: {error.code}: {error.message}" + (f" (sku {error.sku})" if error.sku else ""))
    if report.errors:
        sys.exit(1)


@main.command()
@click.option("--limit", default=1000, show_default=True, help="findings listed per check")
def check(limit: int) -> None:
    """Verify stock integrity for the whole database: on_hand = ledger sum, reserved = open
    reservations, in_transit = dispatched transfers, nothing negative; and every unit an open
    order still waits for is held by its reservation. Exit code 1 if anything is off."""
    settings = ensure_services()
    from app.core.db import create_engine, create_sessionmaker, transaction
    from app.flows.integrity import OrderWithoutStock, orders_without_stock
    from app.inventory.schemas import Finding
    from app.inventory.service import check_integrity

    async def go() -> tuple[list[Finding], list[OrderWithoutStock]]:
        engine = create_engine(settings)
        try:
            async with transaction(create_sessionmaker(engine)) as session:
                return await check_integrity(session, limit=limit), await orders_without_stock(session, limit=limit)
        finally:
            await engine.dispose()

    findings, orders = run_async(go)
    for f in findings:
        click.echo(f"{f.check}: sku={f.sku} location={f.location} actual={f.actual} expected={f.expected}")
    for order in orders:
        click.echo(str(order))
    if findings or orders:
        click.echo(f"{len(findings) + len(orders)} finding(s)", err=True)
        sys.exit(1)
    click.echo("stock is consistent")


@main.group()
def stock() -> None:
    """Stock tools."""


@stock.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def stock_import(file: Path) -> None:
    """Import counted stock from a CSV (`location,sku,on_hand[,counted_at]`), applied like
    POS sync batches of up to 10,000 lines. Re-importing the same file changes nothing.
    Exit code 1 if any line was rejected."""
    settings = ensure_services()
    import hashlib

    from tqdm import tqdm

    from app.core import clock
    from app.core.db import create_engine, create_sessionmaker, transaction
    from app.core.errors import Problem
    from app.inventory.rules import CountRow, CountRowError, count_batches, read_count_csv
    from app.inventory.service import sync_counts

    digest = hashlib.sha256(file.read_bytes()).hexdigest()[:32]
    with file.open(encoding="utf-8-sig", newline="") as lines:
        items = list(read_count_csv(lines))
    errors = [i for i in items if isinstance(i, CountRowError)]
    rows = [i for i in items if isinstance(i, CountRow)]
    now = clock.now()

    async def go() -> tuple[int, int, list[str]]:
        engine = create_engine(settings)
        maker = create_sessionmaker(engine)
        applied = unchanged = 0
        rejected: list[str] = []
        try:
            with tqdm(total=len(rows), unit=" lines", disable=None) as bar:
                for n, (location, batch) in enumerate(count_batches(rows)):
                    # One transaction per batch, idempotent by batch id: a re-run skips what landed.
                    try:
                        async with transaction(maker) as session:
                            out = await sync_counts(
                                session,
                                location_code=location,
                                batch_id=f"csv:{digest}:{n}",
                                lines=[(r.sku, r.on_hand, r.counted_at or now) for r in batch],
                            )
                        applied, unchanged = applied + out.applied, unchanged + out.unchanged
                        rejected += [f"{location} {r.sku}: {r.reason}: {r.detail}" for r in out.rejected]
                    except Problem as exc:
                        rejected.append(f"{location} (lines {batch[0].line}-{batch[-1].line}): {exc.code}: {exc}")
                    bar.update(len(batch))
        finally:
            await engine.dispose()
        return applied, unchanged, rejected

    applied, unchanged, rejected = run_async(go)
    for error in errors:
        click.echo(f"line {error.line}: {error.message}")
    for text in rejected:
        click.echo(text)
    click.echo(f"{len(rows)} lines: {applied} applied, {unchanged} unchanged, {len(rejected) + len(errors)} rejected")
    if rejected or errors:
        sys.exit(1)


@main.group()
def reports() -> None:
    """The channel dashboard's summary."""


@reports.command("rebuild")
@click.option("--batch", default=2000, show_default=True, help="orders per transaction")
def reports_rebuild(batch: int) -> None:
    """Recompute every order's contribution to the dashboard's summary (after installing, or
    to repair it); idempotent, safe while the service runs. A full rebuild leaves the summary
    bloated: then `VACUUM (FULL, ANALYZE) report_daily` (seconds; ops/bench/RESULTS.md)."""
    settings = ensure_services()

    async def go() -> int:
        from app.core.db import create_engine, create_sessionmaker, transaction
        from app.reports.service import rebuild

        engine = create_engine(settings)
        maker, done = create_sessionmaker(engine), 0
        after: tuple[Any, Any] | None = None
        try:
            while True:
                async with transaction(maker) as session:
                    after = await rebuild(session, after, batch)
                if after is None:
                    return done
                done += batch
        finally:
            await engine.dispose()

    done = run_async(go)
    click.echo(f"summary rebuilt: {done} orders at most")


if __name__ == "__main__":
    main()
