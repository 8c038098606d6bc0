"""Staff accounts and sessions. Services never commit.

Public functions:
- `create_staff(session, *, email, role, password, location_code=None) -> StaffMember`
  (argon2id hash; StaffExists, InvalidStaff; the location must exist for location roles)
- `sign_in(session, *, email, password) -> SignIn`: a new session (cookie token returned once,
  stored as its SHA-256) or the reason it was refused. A wrong password counts toward the
  lock (`rules.MAX_FAILED_LOGINS`), so the caller must commit a refusal too.
- `staff_of(session, token) -> Staff | None`: the signed-in staff member of a cookie.
- `sign_out(session, token)`
- `staff_names(session, ids) -> {id: email}`: who a timeline's actor ids are (staff only).
- `purge_expired_sessions(session, limit=10_000) -> int` (the hourly `console.purge_expired_sessions` job)
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.ext.asyncio import AsyncSession

from app.console import repository, rules
from app.console.errors import InvalidStaff, StaffExists
from app.console.models import StaffMember, StaffSession
from app.core import clock
from app.inventory import service as inventory
from app.inventory.errors import LocationNotFound


@cache
def _hasher() -> PasswordHasher:
    return PasswordHasher()  # argon2id with the library's current recommended costs


@cache
def _decoy_hash() -> str:
    """Verified against for unknown e-mails, so that a miss costs the same time as a hit."""
    return _hasher().hash(secrets.token_urlsafe(16))


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


async def create_staff(
    session: AsyncSession, *, email: str, role: rules.StaffRole, password: str, location_code: str | None = None
) -> StaffMember:
    email = rules.normalise_email(email)
    if "@" not in email or len(email) > 254:
        raise InvalidStaff("give the staff member's e-mail address", field="email")
    if (problem := rules.password_problem(password)) is not None:
        raise InvalidStaff(problem, field="password")
    if role in rules.ROLES_WITH_LOCATION and not location_code:
        raise InvalidStaff(f"a {role} works at one location: give --location", field="location")
    if location_code is not None:
        try:
            await inventory.get_location(session, location_code)
        except LocationNotFound as exc:
            raise InvalidStaff(f"no location {location_code}", field="location") from exc
    if await repository.staff_by_email(session, email) is not None:
        raise StaffExists(f"{email} already has an account")
    member = StaffMember(
        id=uuid.uuid4(),
        email=email,
        role=role.value,
        location_code=location_code,
        password_hash=_hasher().hash(password),
        failed_logins=0,
    )
    session.add(member)
    await session.flush()
    return member


@dataclass(frozen=True)
class SignIn:
    token: str | None = None
    refused: str | None = None  # "wrong" (unknown e-mail or wrong password) or "locked"


async def sign_in(session: AsyncSession, *, email: str, password: str) -> SignIn:
    now = clock.now()
    member = await repository.staff_by_email(session, rules.normalise_email(email)[:254], lock=True)
    if member is None or member.disabled_at is not None:
        _verify(_decoy_hash(), password)
        return SignIn(refused="wrong")
    if rules.is_locked(member.locked_until, now):
        return SignIn(refused="locked")
    if not _verify(member.password_hash, password):
        member.failed_logins, member.locked_until = rules.after_failure(member.failed_logins, now)
        await session.flush()
        return SignIn(refused="locked" if member.locked_until else "wrong")
    member.failed_logins, member.locked_until = 0, None
    if _hasher().check_needs_rehash(member.password_hash):
        member.password_hash = _hasher().hash(password)
    await repository.delete_expired_sessions(session, member.id, now)
    token = secrets.token_urlsafe(32)
    session.add(
        StaffSession(
            token_hash=token_hash(token),
            staff_id=member.id,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            expires_at=now + rules.SESSION_LIFETIME,
        )
    )
    await session.flush()
    return SignIn(token=token)


def _verify(hashed: str, password: str) -> bool:
    try:
        return _hasher().verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


async def staff_of(session: AsyncSession, token: str) -> rules.Staff | None:
    found = await repository.session_with_staff(session, token_hash(token), clock.now())
    if found is None:
        return None
    staff_session, member = found
    return rules.Staff(
        id=member.id,
        email=member.email,
        role=rules.StaffRole(member.role),
        location_code=member.location_code,
        csrf_token=staff_session.csrf_token,
    )


async def sign_out(session: AsyncSession, token: str) -> None:
    await repository.delete_session(session, token_hash(token))


async def purge_expired_sessions(session: AsyncSession, limit: int = 10_000) -> int:
    return await repository.purge_expired_sessions(session, clock.now(), limit)


async def staff_names(session: AsyncSession, ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    return await repository.staff_emails(session, ids)
