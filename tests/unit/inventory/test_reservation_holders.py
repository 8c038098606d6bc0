"""Who holds a reservation made through the API, and who may settle it (pure rules)."""

from __future__ import annotations

from app.inventory.rules import holder_of, is_flow_reference, may_settle


def test_holder_is_the_channel_and_the_store_of_location_bound_keys() -> None:
    assert holder_of("storefront", "web", None) == "web"
    assert holder_of("kiosk", "kiosk", "S1") == "kiosk@S1"
    assert holder_of("integration", None, None) == "integration"


def test_only_the_holder_or_an_admin_settles_and_never_an_orders_reservation() -> None:
    assert may_settle("web", "web", admin=False) is None
    assert may_settle("web", "app", admin=False) == "another_holder"
    assert may_settle("pos@S1", "pos@S2", admin=False) == "another_holder"
    assert may_settle("pos@S1", "admin", admin=True) is None
    assert may_settle(None, "admin", admin=True) == "held_by_order"


def test_flow_references_are_recognised() -> None:
    assert is_flow_reference("order:1") and is_flow_reference("fulfillment:F-1:rejected")
    assert not is_flow_reference("cart:1") and not is_flow_reference("hold:order:1")
