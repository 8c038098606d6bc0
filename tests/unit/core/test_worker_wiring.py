"""The worker process declares every outbox consumer and periodic job: loyalty earns from the
events the relay publishes there."""

from __future__ import annotations


def test_worker_registers_every_consumer_and_periodic_job() -> None:
    import app.worker as worker
    from app.core.outbox import consumers_of

    assert consumers_of("fulfillment.delivered"), "loyalty does not hear deliveries in the worker"
    assert consumers_of("customer.created")
    names = {name for name, _ in worker.PERIODIC}
    assert {"outbox.relay", "loyalty.expire_points", "inventory.expire_reservations"} <= names
