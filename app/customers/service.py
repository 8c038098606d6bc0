"""Customer use cases: the single customer record of every channel.

Public functions (other domains call only these; none commits):
- `create_customer(session, principal, data: CustomerCreate) -> CustomerOut`: issues the
  loyalty card; 409 `customer_exists` (with `existing_customer_id`) if the email or phone
  is already known, also when it belongs to a record that was merged away.
- `get_customer(session, customer_id) -> CustomerOut`: follows merges (an absorbed id gives
  the survivor); 404 `customer_not_found`.
- `resolve_customer_id(session, customer_id) -> uuid.UUID | None`: the survivor's id.
- `find_customers(session, *, email=None, phone=None, card=None) -> list[CustomerOut]`:
  exactly one key, exact match after normalization, 0 or 1 result.
- `update_customer(session, customer_id, data: CustomerUpdate) -> CustomerOut`.
- `normalized_contact(email, phone, *, field="contact") -> dict`: an e-mail / phone given
  outside a record (a guest order's contact) normalized as the record's are (422 otherwise).
- `customer_of_token(session, principal, token) -> UUID`: whose token it is (403 if none).
- `customers_named(session, prefix, *, cursor, limit) -> Page[CustomerOut]`: live records
  whose name starts with `prefix` (staff search; at least two characters).
- `merge_customers(session, survivor_id, absorbed_id) -> Merged`: folds the records (both
  rows locked, by id) and records `customer.merged`; `Merged.fresh` is False when the merge
  was done before (a repeat). The customer-merge flow (app/flows/customer_merge.py) then
  moves the orders, carts and points in the same transaction.
- `authorize_customer_access(session, principal, customer_id, token) -> None`: the
  storefront rule (below); orders call it before showing or changing a customer's things.
- `visible_customers(session, principal, token, customers) -> list[CustomerOut]`: a
  look-up result as the caller may see it (a storefront: only its token's customer).
- `issue_customer_token(session, principal, customer_id) -> CustomerTokenOut` and
  `start_customer_session(session, principal, *, email=None, phone=None) -> CustomerTokenOut`.
- `overview(customer, balance, entries, history_limit) -> CustomerOverview`: the
  contact-center view from the parts the flow gathers (orders' history, loyalty's balance).
- `purge_expired_tokens(session) -> int`.
- Saved addresses (`usecases/addresses.py`): `list_addresses`, `add_address`,
  `remove_address`, and `saved_address(session, customer_id, address_id) -> dict` — what an
  order delivering to `address_id` reads (404 `address_not_found` unless it is this
  customer's, so another customer's id is never told apart from a made-up one).

The storefront rule: a storefront key (web or app) reads or changes a customer's record
only with that customer's token (`X-Customer-Token`), obtained by the same key. Staff and
physical-presence channels (contact_center, pos, kiosk, admin) need none. Tokens are
random, stored as SHA-256, expire after OMS_CUSTOMER_TOKEN_TTL_MINUTES (default 1 day),
and follow merges to the survivor.
"""

from __future__ import annotations

from app.customers.schemas import HistoryEntry, LoyaltyBalance
from app.customers.usecases.access import (
    authorize_customer_access,
    customer_of_token,
    customers_named,
    issue_customer_token,
    purge_expired_tokens,
    start_customer_session,
    visible_customers,
)
from app.customers.usecases.addresses import add_address, list_addresses, remove_address, saved_address
from app.customers.usecases.records import (
    Merged,
    create_customer,
    find_customers,
    get_customer,
    merge_customers,
    normalized_contact,
    overview,
    resolve_customer_id,
    update_customer,
)

__all__ = [
    "HistoryEntry",
    "LoyaltyBalance",
    "Merged",
    "add_address",
    "authorize_customer_access",
    "create_customer",
    "customer_of_token",
    "customers_named",
    "find_customers",
    "get_customer",
    "issue_customer_token",
    "list_addresses",
    "merge_customers",
    "normalized_contact",
    "overview",
    "purge_expired_tokens",
    "remove_address",
    "resolve_customer_id",
    "saved_address",
    "start_customer_session",
    "update_customer",
    "visible_customers",
]
