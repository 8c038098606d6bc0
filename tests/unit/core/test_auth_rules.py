from __future__ import annotations

import pytest

from app.core.auth import Channel, Role, check_binding, hash_key, new_key_plaintext
from app.core.errors import InvalidInput


def test_kiosk_key_needs_a_location_and_gets_the_kiosk_channel() -> None:
    assert check_binding(Role.KIOSK, None, "STORE-1") == Channel.KIOSK
    with pytest.raises(InvalidInput):
        check_binding(Role.KIOSK, None, None)


def test_storefront_channel_is_web_or_app_only() -> None:
    assert check_binding(Role.STOREFRONT, Channel.APP, None) == Channel.APP
    assert check_binding(Role.STOREFRONT, None, None) == Channel.WEB
    with pytest.raises(InvalidInput):
        check_binding(Role.STOREFRONT, Channel.POS, None)


def test_admin_is_not_bound_to_a_channel() -> None:
    assert check_binding(Role.ADMIN, None, None) is None
    with pytest.raises(InvalidInput):
        check_binding(Role.ADMIN, Channel.WEB, None)


def test_logistics_needs_a_location() -> None:
    with pytest.raises(InvalidInput):
        check_binding(Role.LOGISTICS, None, None)


def test_keys_are_random_and_hashes_are_fixed_length() -> None:
    a, b = new_key_plaintext(Role.POS), new_key_plaintext(Role.POS)
    assert a != b and a.startswith("oms_pos_")
    assert len(hash_key(a)) == 32 and hash_key(a) != hash_key(b)


def test_key_cache_forgets_after_ttl_and_can_be_off(monkeypatch: pytest.MonkeyPatch) -> None:
    import uuid

    from app.core import auth
    from app.core.auth import KeyCache, Principal

    now = [1000.0]
    monkeypatch.setattr(auth.time, "monotonic", lambda: now[0])
    principal = Principal(key_id=uuid.uuid4(), role=Role.POS, channel=Channel.POS, location_code="S1")
    cache = KeyCache(ttl=5)
    cache.put(b"h", principal)
    assert cache.get(b"h") == principal
    now[0] += 6
    assert cache.get(b"h") is None
    off = KeyCache(ttl=0)
    off.put(b"h", principal)
    assert off.get(b"h") is None
