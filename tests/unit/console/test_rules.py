"""Staff roles as service callers, and the sign-in lock."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from app.console import rules
from app.core.auth import Channel, Role

NOW = datetime(2026, 1, 5, 12, tzinfo=UTC)


def staff(role: rules.StaffRole, location: str | None = None) -> rules.Staff:
    return rules.Staff(id=uuid.uuid4(), email="a@b.c", role=role, location_code=location, csrf_token="t")


@pytest.mark.parametrize(
    ("role", "api_role", "channel"),
    [
        (rules.StaffRole.PICKER, Role.LOGISTICS, None),
        (rules.StaffRole.STORE_ASSOCIATE, Role.POS, Channel.POS),
        (rules.StaffRole.CONTACT_CENTER, Role.CONTACT_CENTER, Channel.CONTACT_CENTER),
        (rules.StaffRole.MERCHANDISER, Role.MERCHANDISER, None),
        (rules.StaffRole.MANAGER, Role.ADMIN, None),
        (rules.StaffRole.ADMIN, Role.ADMIN, None),
    ],
)
def test_a_staff_member_acts_as_the_api_role_with_their_own_id(
    role: rules.StaffRole, api_role: Role, channel: Channel | None
) -> None:
    member = staff(role, "STORE-1")
    principal = member.principal
    assert (principal.role, principal.channel, principal.location_code) == (api_role, channel, "STORE-1")
    assert principal.key_id == member.id  # what timelines and the ledger record


def test_the_fifth_wrong_password_locks_and_resets_the_count() -> None:
    failed, locked = 0, None
    for _ in range(rules.MAX_FAILED_LOGINS - 1):
        failed, locked = rules.after_failure(failed, NOW)
        assert locked is None
    failed, locked = rules.after_failure(failed, NOW)
    assert (failed, locked) == (0, NOW + rules.LOCK_FOR)
    assert rules.is_locked(locked, NOW + rules.LOCK_FOR - timedelta(seconds=1))
    assert not rules.is_locked(locked, NOW + rules.LOCK_FOR)


def test_password_length_and_email_case() -> None:
    assert rules.password_problem("short") is not None
    assert rules.password_problem("long-enough-1") is None
    assert rules.normalise_email("  Ada@Shop.TEST ") == "ada@shop.test"


@pytest.mark.parametrize(
    ("raw", "signed", "expected"),
    [
        ("3", False, 3),
        (" 12 ", False, 12),
        ("²", False, None),
        ("9" * 5000, False, None),
        ("-5", False, None),
        ("-5", True, -5),
        ("+7", True, 7),
        ("", False, None),
        (None, False, None),
        ("1e3", False, None),
    ],
)
def test_typed_quantities(raw: object, signed: bool, expected: int | None) -> None:
    from app.console.web import whole_number

    assert whole_number(raw, signed=signed) == expected
