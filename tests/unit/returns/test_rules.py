"""Returns rules on plain data: windows, eligibility, unit refunds, tenders, transitions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.money import round_half_up
from app.orders.returns import rules
from app.orders.returns.rules import LineDiscount, LineFacts, LineRefundState, Reason

NOW = datetime(2025, 3, 1, 12, tzinfo=UTC)


def facts(**kw: object) -> LineFacts:
    base: dict[str, object] = {
        "line_no": 1,
        "quantity": 3,
        "cancelled": 0,
        "delivered": 3,
        "returned": 0,
        "delivered_at": NOW - timedelta(days=10),
        "returnable_product": True,
        "window_days": 30,
    }
    base.update(kw)
    return LineFacts(**base)  # type: ignore[arg-type]


def test_window_is_the_longest_prefix_of_the_category_path() -> None:
    policies = {"apparel": 60, "swimwear": 14}
    assert rules.window_days(("apparel", "beach", "swimwear"), policies) == 14
    assert rules.window_days(("apparel", "tops"), policies) == 60
    assert rules.window_days(("home",), policies) == 30
    assert rules.window_days((), policies) == 30


def test_eligibility_reasons() -> None:
    assert rules.line_reason(facts(), NOW, 3) is None
    assert rules.line_reason(facts(returned=2), NOW, 2) == Reason.ALREADY_RETURNED
    assert rules.line_reason(facts(delivered=0), NOW, 1) == Reason.NOT_DELIVERED
    assert rules.line_reason(facts(returnable_product=False), NOW, 1) == Reason.NOT_RETURNABLE
    # the window closes exactly `days` after delivery
    closing = facts(delivered_at=NOW - timedelta(days=30))
    assert rules.line_reason(closing, NOW, 1) == Reason.RETURN_WINDOW_CLOSED
    assert rules.line_reason(closing, NOW - timedelta(seconds=1), 1) is None
    assert rules.exceeds_purchase(facts(cancelled=1), 3) is True
    assert rules.exceeds_purchase(facts(cancelled=1), 2) is False


def test_three_for_two_free_unit_comes_back_first_and_refunds_nothing() -> None:
    # 3 x 999, buy 2 get 1: the engine's reward is half_up(2997 * 1 * 10000 / 30000) = 999.
    values = rules.unit_values(999, 3, [LineDiscount(999, reward_bp=10_000)])
    assert values == [0, 999, 999]
    state = LineRefundState(line_total=1998, quantity=3, cancelled=0, refunded_units=0, refunded_amount=0)
    assert rules.line_refund(values, state, 1) == 0
    after = LineRefundState(line_total=1998, quantity=3, cancelled=0, refunded_units=1, refunded_amount=0)
    assert rules.line_refund(values, after, 1) == 999


def test_percent_discount_is_split_by_largest_remainder_cheapest_first() -> None:
    # 3 x 333 with 10 % off the order: 100 off, allocated 34/33/33.
    values = rules.unit_values(333, 3, [LineDiscount(100)])
    assert values == [299, 300, 300] and sum(values) == 899
    state = LineRefundState(line_total=899, quantity=3, cancelled=0, refunded_units=0, refunded_amount=0)
    assert rules.line_refund(values, state, 1) == 299
    assert rules.line_refund(values, state, 3) == 899


def test_a_full_return_after_a_cancellation_refunds_what_was_paid_for_the_rest() -> None:
    values = rules.unit_values(999, 3, [LineDiscount(999, reward_bp=10_000)])
    # one unit cancelled before shipping released 1998 * 1 // 3 = 666; 1332 was paid for two.
    state = LineRefundState(line_total=1998, quantity=3, cancelled=1, refunded_units=0, refunded_amount=0)
    assert rules.line_refund(values, state, 2) == 1332


def test_points_go_back_first_then_cards_then_cash() -> None:
    tenders = [
        rules.TenderBalance(id="cash", kind="cash", position=0, refundable=500),
        rules.TenderBalance(id="card", kind="card", position=1, refundable=3000),
        rules.TenderBalance(id="points", kind="loyalty_points", position=2, refundable=1000),
    ]
    assert rules.allocate_refund(tenders, 3200) == [("points", 1000), ("card", 2200)]
    assert rules.allocate_refund(tenders, 9000) == [("points", 1000), ("card", 3000), ("cash", 500)]


def test_state_machine() -> None:
    assert rules.next_status(rules.Status.REQUESTED, rules.Action.AUTHORIZE) == rules.Status.AUTHORIZED
    assert rules.next_status(rules.Status.AUTHORIZED, rules.Action.RECEIVE) == rules.Status.RECEIVED
    assert rules.next_status(rules.Status.RECEIVED, rules.Action.REFUND) == rules.Status.REFUNDED
    with pytest.raises(rules.TransitionRefused):
        rules.next_status(rules.Status.REFUNDED, rules.Action.REFUND)
    with pytest.raises(rules.TransitionRefused):
        rules.next_status(rules.Status.RECEIVED, rules.Action.CLOSE)
    assert rules.allowed_actions(rules.Status.AUTHORIZED) == ["receive", "close", "reject"]


def test_exchange_difference() -> None:
    assert rules.exchange_difference(2500, 2500) == 0
    assert rules.exchange_difference(2500, 3000) == 500
    assert rules.exchange_difference(2500, 1000) == -1500


@st.composite
def lines(draw: st.DrawFn) -> tuple[int, int, list[LineDiscount]]:
    quantity = draw(st.integers(1, 8))
    unit_price = draw(st.integers(0, 5000))
    net = unit_price * quantity
    discounts: list[LineDiscount] = []
    for _ in range(draw(st.integers(0, 3))):
        if net == 0:
            break
        if draw(st.booleans()):
            k = draw(st.integers(1, quantity))
            bp = draw(st.sampled_from([10_000, 5_000, 2_500]))
            amount = round_half_up(net * k * bp, quantity * rules.BP)
            discounts.append(LineDiscount(min(amount, net), reward_bp=bp))
        else:
            discounts.append(LineDiscount(draw(st.integers(0, net))))
        net -= discounts[-1].amount
    return unit_price, quantity, discounts


@settings(max_examples=300, deadline=None)
@given(line=lines(), data=st.data())
def test_units_sum_to_the_net_and_returns_never_refund_more_than_paid(
    line: tuple[int, int, list[LineDiscount]], data: st.DataObject
) -> None:
    unit_price, quantity, discounts = line
    net = unit_price * quantity - sum(d.amount for d in discounts)
    values = rules.unit_values(unit_price, quantity, discounts)
    assert sum(values) == net and all(v >= 0 for v in values) and values == sorted(values)
    cancelled = data.draw(st.integers(0, quantity - 1))
    kept = net - rules.value_of_units(net, quantity, cancelled)
    refunded_units = refunded = 0
    while refunded_units < quantity - cancelled:
        units = data.draw(st.integers(1, quantity - cancelled - refunded_units))
        state = LineRefundState(net, quantity, cancelled, refunded_units, refunded)
        amount = rules.line_refund(values, state, units)
        assert amount >= 0
        refunded_units, refunded = refunded_units + units, refunded + amount
        assert refunded <= kept
    assert refunded == kept  # everything back: exactly what was paid, to the minor unit


@settings(max_examples=200, deadline=None)
@given(
    balances=st.lists(st.tuples(st.sampled_from(rules.REFUND_ORDER), st.integers(0, 10_000)), min_size=1, max_size=4),
    amount=st.integers(0, 50_000),
)
def test_tender_refunds_never_exceed_what_each_took(balances: list[tuple[str, int]], amount: int) -> None:
    tenders = [rules.TenderBalance(id=i, kind=k, position=i, refundable=r) for i, (k, r) in enumerate(balances)]
    shares = rules.allocate_refund(tenders, amount)
    assert sum(s for _, s in shares) == min(amount, sum(r for _, r in balances))
    for tender_id, share in shares:
        assert 0 < share <= tenders[tender_id].refundable  # type: ignore[index]
