"""SQL fragments several inventory statements share."""

from __future__ import annotations

from app.core import outbox

# Parameters used in several places of one statement are cast the same way everywhere, or
# PostgreSQL deduces inconsistent types for them.
NOW = "CAST(:now AS timestamptz)"


ACTOR = "CAST(:actor AS uuid)"


# Effective safety stock of a stock row `s` at its location `l`.
SAFETY = "coalesce(s.safety_stock, l.default_safety_stock)"


AVAILABLE = f"greatest(s.on_hand - s.reserved - {SAFETY}, 0)"


def _outbox_insert(
    event_type: str, source: str, aggregate_type: str, aggregate_id: str, payload: str, now: str = NOW
) -> str:
    """One outbox event per row of `source` (app.core.outbox.insert_select)."""
    return outbox.insert_select(
        source,
        type=event_type,
        aggregate_type=aggregate_type,
        aggregate_id=aggregate_id,
        payload=payload,
        occurred_at=now,
    )
