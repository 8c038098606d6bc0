from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.customers import rules
from app.customers.rules import InvalidContact, Profile, with_ids

T0 = datetime(2026, 1, 1, tzinfo=UTC)


# ---- email -----------------------------------------------------------------------------


def test_email_is_trimmed_and_lower_cased() -> None:
    assert rules.normalize_email("  Ada.Lovelace@Example.COM ") == "ada.lovelace@example.com"


@pytest.mark.parametrize("raw", ["ada", "ada@", "@example.com", "ada@example", "a da@example.com", "a@b@c.de"])
def test_email_that_cannot_be_an_address_is_refused(raw: str) -> None:
    with pytest.raises(InvalidContact) as info:
        rules.normalize_email(raw)
    assert info.value.field == "email"


def test_overlong_email_is_refused() -> None:
    with pytest.raises(InvalidContact):
        rules.normalize_email("a" * 250 + "@example.com")


# ---- phone -----------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["+49 30 1234567", "030 1234567", "0049 30 1234567", "+49 (0)30 123-4567"])
def test_phone_spellings_of_one_number_normalize_to_one_e164(raw: str) -> None:
    assert rules.normalize_phone(raw, "DE") == "+49301234567"


def test_national_number_uses_the_default_region() -> None:
    assert rules.normalize_phone("01 23 45 67 89", "FR") == "+33123456789"
    assert rules.normalize_phone("(202) 555-0143", "US") == "+12025550143"


def test_international_number_ignores_the_default_region() -> None:
    assert rules.normalize_phone("+1 202 555 0143", "DE") == "+12025550143"


@pytest.mark.parametrize("raw", ["12", "abc", "+49 1", "++49"])
def test_invalid_phone_is_refused(raw: str) -> None:
    with pytest.raises(InvalidContact) as info:
        rules.normalize_phone(raw, "DE")
    assert info.value.field == "phone"


# ---- loyalty card numbers --------------------------------------------------------------


@pytest.mark.parametrize(("body", "check"), [("400638133393", "1"), ("590123412345", "7"), ("290000000000", "1")])
def test_ean13_check_digit_of_known_numbers(body: str, check: str) -> None:
    assert rules.ean13_check_digit(body) == check


def test_check_digit_needs_twelve_digits() -> None:
    with pytest.raises(ValueError):
        rules.ean13_check_digit("12345")


def test_issued_card_numbers_are_ours_and_valid() -> None:
    numbers = {rules.new_card_number() for _ in range(200)}
    assert len(numbers) == 200
    for number in numbers:
        assert len(number) == 13
        assert number.startswith("29")
        assert rules.is_card_number(number)


@pytest.mark.parametrize(
    "text",
    ["2900000000001 ", "2900000000004", "4006381333931", "290000000000", "29000000000040", "29000000000a4"],
)
def test_not_our_card_number(text: str) -> None:
    assert rules.is_card_number(text) is False


def test_our_card_number() -> None:
    assert rules.is_card_number("2900000000001") is True


@given(
    body=st.text(alphabet="0123456789", min_size=10, max_size=10), position=st.integers(0, 12), delta=st.integers(1, 9)
)
def test_any_single_digit_misread_is_caught(body: str, position: int, delta: int) -> None:
    number = "29" + body + rules.ean13_check_digit("29" + body)
    misread = number[:position] + str((int(number[position]) + delta) % 10) + number[position + 1 :]
    assert rules.is_card_number(number)
    assert not rules.is_card_number(misread)


# ---- merging profiles ------------------------------------------------------------------


def _address(line1: str, city: str = "Berlin", **extra: str) -> dict[str, str | None]:
    return {"line1": line1, "city": city, "country": "DE", "postal_code": "10115", "line2": None, **extra}


def _profile(**overrides: object) -> Profile:
    base: dict[str, object] = {
        "name": "Ada Lovelace",
        "email": None,
        "phone": None,
        "addresses": [],
        "marketing_consent": False,
        "marketing_consent_at": T0,
    }
    base.update(overrides)
    return Profile(**base)  # type: ignore[arg-type]


def test_survivor_keeps_its_contacts_and_gains_missing_ones() -> None:
    survivor = _profile(email="ada@example.com", phone=None)
    absorbed = _profile(name="A. Lovelace", email="guest@example.com", phone="+49301234567")
    merged = rules.merge_profiles(survivor, absorbed)
    assert merged.name == "Ada Lovelace"
    assert merged.email == "ada@example.com"
    assert merged.phone == "+49301234567"


def test_addresses_are_united_without_duplicates() -> None:
    survivor = _profile(addresses=[_address("Main St 1")])
    absorbed = _profile(addresses=[_address("  MAIN st 1 ", label="home"), _address("Side St 2")])
    merged = rules.merge_profiles(survivor, absorbed)
    assert [a["line1"] for a in merged.addresses] == ["Main St 1", "Side St 2"]


def test_addresses_stop_at_the_maximum() -> None:
    survivor = _profile(addresses=[_address(f"Street {i}") for i in range(rules.MAX_ADDRESSES - 1)])
    absorbed = _profile(addresses=[_address("New 1"), _address("New 2")])
    merged = rules.merge_profiles(survivor, absorbed)
    assert len(merged.addresses) == rules.MAX_ADDRESSES
    assert merged.addresses[-1]["line1"] == "New 1"


def test_consent_follows_the_newest_decision() -> None:
    old_yes = _profile(marketing_consent=True, marketing_consent_at=T0)
    new_no = _profile(marketing_consent=False, marketing_consent_at=T0 + timedelta(days=1))
    assert rules.merge_profiles(old_yes, new_no).marketing_consent is False
    assert rules.merge_profiles(new_no, old_yes).marketing_consent is False
    merged = rules.merge_profiles(old_yes, _profile(marketing_consent=False, marketing_consent_at=None))
    assert (merged.marketing_consent, merged.marketing_consent_at) == (True, T0)


def test_history_is_newest_first_and_cut() -> None:
    class Entry:
        def __init__(self, id: str, days: int) -> None:
            self.id, self.occurred_at = id, T0 + timedelta(days=days)

    entries = [Entry("a", 1), Entry("b", 3), Entry("c", 2), Entry("d", 0)]
    assert [e.id for e in rules.newest_first(entries, 3)] == ["b", "c", "a"]


def test_country_codes_are_the_iso_list() -> None:
    assert len(rules.COUNTRY_CODES) == 249
    assert {"DE", "FR", "US", "AQ"} <= rules.COUNTRY_CODES
    assert "XK" not in rules.COUNTRY_CODES
    assert "UK" not in rules.COUNTRY_CODES


def test_a_saved_place_keeps_its_id_and_a_new_place_gets_one() -> None:
    home = {"id": "a1", "line1": "1 Main St", "city": "Berlin", "country": "DE"}
    edited = [{"line1": "1 MAIN ST ", "city": "berlin", "country": "DE", "label": "home"}, {"line1": "2 Side St",
              "city": "Berlin", "country": "DE"}]  # fmt: skip
    first, second = with_ids(edited, [home])
    assert first["id"] == "a1" and first["label"] == "home"
    assert second["id"] not in ("", "a1") and len(second["id"]) == 36
