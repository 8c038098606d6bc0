"""Staff accounts and sessions on the real database: sign-in, the lock, expiry and purge."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.console import rules, service
from app.console.errors import InvalidStaff, StaffExists
from app.console.models import StaffSession
from app.core import clock

PASSWORD = "Correct-Horse-42"


async def test_sign_in_lock_expiry_and_purge(db: AsyncSession) -> None:
    clock.freeze(clock.now())
    await service.create_staff(db, email="Ana@Shop.test", role=rules.StaffRole.CONTACT_CENTER, password=PASSWORD)
    with pytest.raises(StaffExists):
        await service.create_staff(db, email="ana@shop.test", role=rules.StaffRole.ADMIN, password=PASSWORD)
    with pytest.raises(InvalidStaff):
        await service.create_staff(db, email="p@shop.test", role=rules.StaffRole.PICKER, password=PASSWORD)

    signed = await service.sign_in(db, email="ANA@shop.test", password=PASSWORD)
    assert signed.token is not None
    staff = await service.staff_of(db, signed.token)
    assert staff is not None and staff.email == "ana@shop.test" and staff.principal.key_id == staff.id

    for _ in range(rules.MAX_FAILED_LOGINS - 1):
        assert (await service.sign_in(db, email="ana@shop.test", password="wrong-password")).refused == "wrong"
    assert (await service.sign_in(db, email="ana@shop.test", password="wrong-password")).refused == "locked"
    assert (await service.sign_in(db, email="ana@shop.test", password=PASSWORD)).refused == "locked"
    clock.advance(rules.LOCK_FOR)
    assert (await service.sign_in(db, email="ana@shop.test", password=PASSWORD)).token is not None
    assert (await service.sign_in(db, email="nobody@shop.test", password=PASSWORD)).refused == "wrong"

    clock.advance(rules.SESSION_LIFETIME + timedelta(seconds=1))
    assert await service.staff_of(db, signed.token) is None
    assert await service.purge_expired_sessions(db) == 2
    assert await db.scalar(select(func.count()).select_from(StaffSession)) == 0
