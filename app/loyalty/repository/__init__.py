"""Every SQL statement of the loyalty domain (one module per job in this package; this is its
face: `from app.loyalty import repository` and `repository.<statement>`).

Lock order, everywhere: the account row first (a conditional UPDATE or `FOR UPDATE`),
then its lots. Two accounts (a merge, a batch job) are locked in id order.
"""

from __future__ import annotations

from app.loyalty.repository.accounts import (
    account_by_card,
    account_by_id,
    change_balances,
    close_merged_account,
    insert_account,
    live_account_of_customer,
    lock_accounts,
    rolling_spend,
    take_available,
)
from app.loyalty.repository.audit import balance_mismatches, event_by_id
from app.loyalty.repository.batches import (
    accounts_with_due_lots,
    accounts_with_expired_lots,
    expire_lots,
    move_pending_to_available,
    release_lots,
    take_expired,
)
from app.loyalty.repository.earnings import earning_lines, earning_lines_for, insert_earning_lines, record_line_refund
from app.loyalty.repository.ledger import (
    entry_by_dedupe_key,
    entry_by_id,
    insert_entries,
    insert_entry,
    ledger_page,
    ledger_sum,
    lock_lines,
)
from app.loyalty.repository.lots import (
    cut_lot_spend,
    give_back_to_lots,
    insert_draws,
    insert_lot,
    lot_by_key,
    lots_by_id,
    mark_restored,
    move_lots,
    restorable_draws,
    spendable_lots,
    take_from_lots,
    upcoming_expiries,
)
from app.loyalty.repository.reversals import (
    insert_reversal,
    insert_reversal_lines,
    mark_reversal_line_applied,
    reversal,
    reversal_lines,
    waiting_reversal_lines,
)

__all__ = [
    "account_by_card",
    "account_by_id",
    "accounts_with_due_lots",
    "accounts_with_expired_lots",
    "balance_mismatches",
    "change_balances",
    "close_merged_account",
    "cut_lot_spend",
    "earning_lines",
    "earning_lines_for",
    "entry_by_dedupe_key",
    "entry_by_id",
    "event_by_id",
    "expire_lots",
    "give_back_to_lots",
    "insert_account",
    "insert_draws",
    "insert_earning_lines",
    "insert_entries",
    "insert_entry",
    "insert_lot",
    "insert_reversal",
    "insert_reversal_lines",
    "ledger_page",
    "ledger_sum",
    "live_account_of_customer",
    "lock_accounts",
    "lock_lines",
    "lot_by_key",
    "lots_by_id",
    "mark_restored",
    "mark_reversal_line_applied",
    "move_lots",
    "move_pending_to_available",
    "record_line_refund",
    "release_lots",
    "restorable_draws",
    "reversal",
    "reversal_lines",
    "rolling_spend",
    "spendable_lots",
    "take_available",
    "take_expired",
    "take_from_lots",
    "upcoming_expiries",
    "waiting_reversal_lines",
]
