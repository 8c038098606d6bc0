"""Pure rules of the customer record: normalizing contacts, loyalty card numbers, merging.

No I/O here. Phone numbers are parsed with `phonenumbers` (pure metadata, no network).
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import phonenumbers

# ISO 3166-1 alpha-2: the 249 officially assigned codes.
_ISO_3166_ALPHA2 = """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW
    BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI
    FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN
    IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME
    MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF
    PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV
    SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE
    YT ZA ZM ZW
"""
COUNTRY_CODES = frozenset(_ISO_3166_ALPHA2.split())

# Loyalty cards are EAN-13 numbers in the in-store range "2x" (never assigned to products
# by GS1), prefix "29" for our cards, so any POS scanner reads them.
CARD_PREFIX = "29"
CARD_LENGTH = 13
# What the schema states of a card number (the check digit it cannot).
CARD_PATTERN = f"^{CARD_PREFIX}[0-9]{{{CARD_LENGTH - len(CARD_PREFIX)}}}$"

# Deliberately permissive (mail servers decide what a local part may be); it only rejects
# what cannot be an address: no "@", spaces, no dot in the domain.
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s.]+$"
_EMAIL = re.compile(EMAIL_PATTERN)
MAX_EMAIL_LENGTH = 254


class InvalidContact(ValueError):
    """A phone number or email that cannot be normalized; `field` names which."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def normalize_email(raw: str) -> str:
    """Trim and lower-case the whole address: one person, one spelling."""
    email = raw.strip().lower()
    if len(email) > MAX_EMAIL_LENGTH or not _EMAIL.match(email):
        raise InvalidContact("email", "not a valid email address")
    return email


def normalize_phone(raw: str, default_region: str) -> str:
    """E.164 form ("+49301234567"); national forms ("030 1234567") use `default_region`."""
    try:
        number = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException:
        raise InvalidContact("phone", "not a phone number") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidContact("phone", "not a valid phone number for its country")
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def ean13_check_digit(first12: str) -> str:
    """GS1 check digit: weights 1,3,1,3,... from the left over the first 12 digits."""
    if len(first12) != 12 or not first12.isdigit():
        raise ValueError("an EAN-13 body is 12 digits")
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first12))
    return str((10 - total % 10) % 10)


def is_card_number(text: str) -> bool:
    """13 digits, our prefix, and a matching check digit (a mis-scan fails here)."""
    return (
        len(text) == CARD_LENGTH
        and text.isdigit()
        and text.startswith(CARD_PREFIX)
        and ean13_check_digit(text[:12]) == text[12]
    )


def new_card_number() -> str:
    """A random card number: unguessable, so a card number alone reveals no sequence."""
    body = CARD_PREFIX + "".join(str(secrets.randbelow(10)) for _ in range(12 - len(CARD_PREFIX)))
    return body + ean13_check_digit(body)


def address_key(address: dict[str, Any]) -> tuple[str, ...]:
    """What makes two addresses the same place (labels and spelling of case aside)."""
    return tuple(
        str(address.get(field) or "").strip().casefold()
        for field in ("line1", "line2", "postal_code", "city", "country")
    )


def with_ids(addresses: Sequence[dict[str, Any]], known: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Saved addresses keep their id across edits: an address that is the same place as a
    known one keeps that one's id (an order may name it); a new place gets a fresh id."""
    ids = {address_key(a): a["id"] for a in known if a.get("id")}
    return [{**a, "id": ids.get(address_key(a)) or str(uuid.uuid4())} for a in addresses]


@dataclass(frozen=True)
class Profile:
    """The mergeable part of a customer record."""

    name: str
    email: str | None
    phone: str | None
    addresses: list[dict[str, Any]]
    marketing_consent: bool
    marketing_consent_at: datetime | None


MAX_ADDRESSES = 20


def merge_profiles(survivor: Profile, absorbed: Profile) -> Profile:
    """The survivor keeps what it has and gains what only the absorbed record knew:
    a missing email or phone, addresses it lacks (up to MAX_ADDRESSES). Consent follows
    the most recent decision of the person, whichever record it was given on."""
    addresses = list(survivor.addresses)
    seen = {address_key(a) for a in addresses}
    for address in absorbed.addresses:
        if len(addresses) >= MAX_ADDRESSES:
            break
        if address_key(address) not in seen:
            seen.add(address_key(address))
            addresses.append(address)
    consent, consent_at = survivor.marketing_consent, survivor.marketing_consent_at
    if absorbed.marketing_consent_at is not None and (consent_at is None or absorbed.marketing_consent_at > consent_at):
        consent, consent_at = absorbed.marketing_consent, absorbed.marketing_consent_at
    return Profile(
        name=survivor.name,
        email=survivor.email or absorbed.email,
        phone=survivor.phone or absorbed.phone,
        addresses=addresses,
        marketing_consent=consent,
        marketing_consent_at=consent_at,
    )


def newest_first(entries: Sequence[Any], limit: int) -> list[Any]:
    """History entries of every channel in one list: newest first, ties by id, at most `limit`."""
    return sorted(entries, key=lambda e: (e.occurred_at, str(e.id)), reverse=True)[:limit]
