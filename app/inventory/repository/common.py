"""SQL fragments several inventory statements share."""

from __future__ import annotations

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
    """INSERT of one outbox event per row of `source` (same columns as app.core.outbox.record)."""
    return (
        "INSERT INTO outbox_events"
        " (event_id, type, schema_version, aggregate_type, aggregate_id, payload, occurred_at) "
        f"SELECT gen_random_uuid(), '{event_type}', 1, '{aggregate_type}', {aggregate_id}, {payload}, {now} "
        f"FROM {source}"
    )
