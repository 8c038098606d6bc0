"""Staff roles, what each may open, how a staff member acts in the services, and the
sign-in rules (lock after repeated failures). Pure: no I/O."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from app.core.auth import Channel, Principal, Role

# Wrong passwords in a row before the account locks, and for how long.
MAX_FAILED_LOGINS = 5
LOCK_FOR = timedelta(minutes=15)
SESSION_LIFETIME = timedelta(hours=12)
MIN_PASSWORD_LENGTH = 10


class StaffRole(StrEnum):
    PICKER = "picker"
    STORE_ASSOCIATE = "store_associate"
    CONTACT_CENTER = "contact_center"
    MERCHANDISER = "merchandiser"
    MANAGER = "manager"
    ADMIN = "admin"


# Roles whose work happens at one location: they must be created with one.
ROLES_WITH_LOCATION = frozenset({StaffRole.PICKER, StaffRole.STORE_ASSOCIATE})

# How a staff member acts in the services: the API role whose rules apply. The services
# already enforce everything per Principal (a location-bound key acts only there), so the
# console maps a staff member onto one and adds no second copy of any rule.
API_ROLE: dict[StaffRole, tuple[Role, Channel | None]] = {
    StaffRole.PICKER: (Role.LOGISTICS, None),
    StaffRole.STORE_ASSOCIATE: (Role.POS, Channel.POS),
    StaffRole.CONTACT_CENTER: (Role.CONTACT_CENTER, Channel.CONTACT_CENTER),
    StaffRole.MERCHANDISER: (Role.MERCHANDISER, None),
    StaffRole.MANAGER: (Role.ADMIN, None),
    StaffRole.ADMIN: (Role.ADMIN, None),
}


@dataclass(frozen=True)
class Staff:
    """The signed-in staff member of a console request."""

    id: uuid.UUID
    email: str
    role: StaffRole
    location_code: str | None
    csrf_token: str

    @property
    def principal(self) -> Principal:
        """The services' caller for this staff member. `key_id` is the staff member's id:
        every timeline, ledger row and pick list the services write records it where an API
        call records its key id (staff ids and key ids are both random UUIDs)."""
        role, channel = API_ROLE[self.role]
        return Principal(key_id=self.id, role=role, channel=channel, location_code=self.location_code)


def ordering_principal(staff: Staff) -> Principal:
    """Who places an order for a caller on the phone: the contact center channel, whoever the
    staff member is (a manager helping out included), recorded under the staff member's id."""
    return Principal(key_id=staff.id, role=Role.CONTACT_CENTER, channel=Channel.CONTACT_CENTER, location_code=None)


def normalise_email(email: str) -> str:
    return email.strip().lower()


def password_problem(password: str) -> str | None:
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"a password needs at least {MIN_PASSWORD_LENGTH} characters"
    if len(password) > 1024:
        return "a password has at most 1024 characters"
    return None


def is_locked(locked_until: datetime | None, now: datetime) -> bool:
    return locked_until is not None and locked_until > now


def after_failure(failed_logins: int, now: datetime) -> tuple[int, datetime | None]:
    """The failure count and lock after one more wrong password."""
    failed = failed_logins + 1
    if failed >= MAX_FAILED_LOGINS:
        return 0, now + LOCK_FOR
    return failed, None
