"""`oms staff create`: staff accounts of the console."""

from __future__ import annotations

import click

from app.cli.common import ensure_services, main, migrate_to_head, run_async


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
