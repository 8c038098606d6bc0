"""Pure order rules: the state machine, tenders, numbers, cancellation arithmetic, sourcing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.orders import rules
from app.orders.rules import Action, Fulfillment, Status, TenderKind, TenderRequest


def test_transitions_allowed_and_refused() -> None:
    assert rules.next_status(Status.PLACED, Action.RELEASE) is Status.RELEASED
    assert rules.next_status(Status.RELEASED, Action.HOLD) is Status.ON_HOLD
    assert rules.next_status(Status.ON_HOLD, Action.RELEASE) is Status.RELEASED
    assert rules.next_status(Status.RELEASED, Action.FULFIL_PART) is Status.PARTIALLY_FULFILLED
    assert rules.next_status(Status.PARTIALLY_FULFILLED, Action.FULFIL_ALL) is Status.FULFILLED
    assert rules.next_status(Status.FULFILLED, Action.COMPLETE) is Status.COMPLETED
    for status, action in [
        (Status.CANCELLED, Action.RELEASE),
        (Status.FULFILLED, Action.CANCEL),
        (Status.PARTIALLY_FULFILLED, Action.CANCEL),
        (Status.COMPLETED, Action.HOLD),
        (Status.ON_HOLD, Action.FULFIL_PART),
    ]:
        with pytest.raises(rules.TransitionRefused):
            rules.next_status(status, action)


def test_terminal_states_allow_nothing() -> None:
    assert rules.allowed_actions(Status.CANCELLED) == []
    assert rules.allowed_actions(Status.COMPLETED) == []


def test_tender_problems() -> None:
    card = TenderRequest(TenderKind.CARD, 500)
    assert rules.tender_problems([card, TenderRequest(TenderKind.CARD, 499)], 999, "web", Fulfillment.DELIVERY) == []
    assert rules.tender_problems([card], 999, "web", Fulfillment.DELIVERY) == [
        "tenders sum to 500, the order total is 999"
    ]
    assert rules.tender_problems([TenderRequest(TenderKind.CASH, 999)], 999, "web", Fulfillment.PICKUP) == [
        "tenders[0]: cash is taken at a POS till only"
    ]
    assert rules.tender_problems([TenderRequest(TenderKind.CASH, 999)], 999, "pos", Fulfillment.PICKUP) == []
    assert rules.tender_problems([TenderRequest(TenderKind.CASH_ON_DELIVERY, 999)], 999, "web", Fulfillment.PICKUP) == [
        "tenders[0]: cash_on_delivery needs home delivery"
    ]


def test_order_numbers_avoid_look_alikes() -> None:
    numbers = {rules.new_order_number() for _ in range(2000)}
    assert len(numbers) == 2000
    for number in numbers:
        assert rules.is_order_number(number)
        assert not set(number) & set("0O1I")
    assert rules.normalize_order_number(" ab-cd 2345 ") == "ABCD2345"


@given(
    total=st.integers(min_value=0, max_value=10**9),
    quantity=st.integers(min_value=1, max_value=50),
    data=st.data(),
)
def test_cancelling_units_in_any_steps_sums_to_the_line_total(total: int, quantity: int, data: st.DataObject) -> None:
    cancelled = 0
    value = 0
    while cancelled < quantity:
        step = data.draw(st.integers(min_value=1, max_value=quantity - cancelled))
        value += rules.cancelled_value(total, quantity, cancelled, step)
        cancelled += step
    assert value == total


def test_allocate_release_prefers_money_not_yet_taken() -> None:
    tenders = [
        rules.TenderBalance(id="cash", kind=TenderKind.CASH, open_amount=300),
        rules.TenderBalance(id="card", kind=TenderKind.CARD, open_amount=500),
        rules.TenderBalance(id="points", kind=TenderKind.LOYALTY_POINTS, open_amount=200),
    ]
    assert rules.allocate_release(tenders, 600) == [("card", 500), ("points", 100)]
    assert rules.allocate_release(tenders, 1000) == [("card", 500), ("points", 200), ("cash", 300)]


def test_fulfillment_action() -> None:
    assert rules.fulfillment_action([(2, 0, 0), (1, 0, 0)]) is None
    assert rules.fulfillment_action([(2, 0, 1), (1, 0, 0)]) is Action.FULFIL_PART
    assert rules.fulfillment_action([(2, 1, 1), (1, 0, 1)]) is Action.FULFIL_ALL


def test_merge_cart_lines_adds_up_and_caps() -> None:
    assert rules.merge_cart_lines({"A": 1, "B": 2}, {"B": 3, "C": 1}, 4) == {"A": 1, "B": 4, "C": 1}


def test_on_delivery_owes_what_the_other_tenders_do_not_cover() -> None:
    # 40.00 all cash on delivery, 30.00 of goods handed over so far.
    assert rules.due_on_delivery(3000, 0, 4000, everything_delivered=False) == 3000
    # A card pays 15.00 of it: the door takes the rest of what was delivered.
    assert rules.due_on_delivery(3000, 1500, 2500, everything_delivered=False) == 1500
    assert rules.due_on_delivery(1000, 1500, 2500, everything_delivered=False) == 0
    # The last parcel settles everything still open, rounding included.
    assert rules.due_on_delivery(3999, 0, 4000, everything_delivered=True) == 4000


@given(st.integers(0, 10**6), st.integers(0, 10**6), st.integers(0, 10**6), st.booleans())
def test_on_delivery_never_owes_more_than_it_stands_for(delivered: int, elsewhere: int, total: int, last: bool) -> None:
    due = rules.due_on_delivery(delivered, elsewhere, total, everything_delivered=last)
    assert 0 <= due <= total
