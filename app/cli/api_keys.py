"""`oms keys create | list | revoke`."""

from __future__ import annotations

from typing import Any

import click

from app.cli.common import ensure_services, main, migrate_to_head, run_async


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
