"""Prepaid charging with in-memory stores: rating at once (the debits of a period add up to
its usage lines), the tenant's rules at zero and the low-balance threshold, exactly-once
debits, and threads that never overdraw."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billing.catalog.charges import Charge
from billing.catalog.lookups import CatalogLookups
from billing.catalog.service import CatalogService, create_request
from billing.customers import CustomerCreate, CustomerService
from billing.decimals import to_minor
from billing.errors import DomainRuleViolation, InvalidRequest
from billing.invoicing.usage_lines import usage_lines
from billing.prepaid import rating
from billing.prepaid.model import AuthorizeRequest, InsufficientBalance
from billing.prepaid.policy import EXHAUSTED, LOW, PrepaidPolicy, decide
from billing.prepaid.service import PrepaidCharging
from billing.scope import Scope
from billing.subscriptions.model import SubscriptionCreate
from billing.subscriptions.service import SubscriptionService
from billing.usage import schema
from billing.usage.ingest import UsageIngest
from billing.usage.stamping import Directory
from billing.usage.totals import MeterTotal
from billing.validation import parse
from tests.unit.clock import FrozenClock
from tests.unit.fakes import MemoryCatalog, MemoryCustomers, MemoryPrepaid, MemorySubscriptions, MemoryUsageEvents

SCOPE = Scope("ten_p", livemode=False)
NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)
GRADUATED = {"model": "graduated", "tiers": [{"up_to": 10, "unit_amount": "5"}, {"up_to": None, "unit_amount": "2"}]}


def charge(meter: str = "m", **spec: Any) -> Charge:
    return Charge.model_validate({"meter": meter, **spec})


# ---------------------------------------------------------------------------------- rating


def debits(charges: list[Charge], aggregation: str, values: list[Decimal]) -> list[int]:
    running, found = rating.Running(), []
    for value in values:
        step = rating.step(charges, aggregation, running, value)
        found.append(step.amount)
        running = step.after
    return found


def line_amount(charges: list[Charge], aggregation: str, values: list[Decimal]) -> int:
    """What the statement's usage lines bill for the same events (``invoicing.usage_lines``)."""
    quantity = max(values) if aggregation == "max" else sum(values, Decimal(0))
    total = MeterTotal("m", aggregation, quantity, len(values))
    plan = type("P", (), {"charges": charges, "id": "plan_x"})()
    lines = usage_lines(plan, {"m": total}, {}, ("a", "b"), lambda code: values)  # type: ignore[arg-type]
    return sum(line.amount for line in lines)


def test_sub_cent_prices_are_debited_as_the_rounded_total_grows() -> None:
    found = debits([charge(model="per_unit", unit_amount="0.25")], "count", [Decimal(1)] * 8)
    assert found == [0, 0, 1, 0, 0, 1, 0, 0]  # 0.25, 0.5 (even: 0), 0.75 -> 1, 1.0, 1.25, 1.5 -> 2 ...
    assert sum(found) == to_minor(Decimal("2"))


def test_graduated_tiers_are_charged_at_the_marginal_price() -> None:
    found = debits([charge(**GRADUATED)], "sum", [Decimal(8), Decimal(4), Decimal(1)])
    assert found == [40, 2 * 5 + 2 * 2, 2]


def test_a_volume_price_falling_gives_money_back_and_the_period_still_adds_up() -> None:
    volume = charge(model="volume", tiers=[{"up_to": 10, "unit_amount": "10"}, {"up_to": None, "unit_amount": "5"}])
    found = debits([volume], "sum", [Decimal(10), Decimal(1)])
    assert found == [100, 55 - 100]


def test_flat_is_debited_with_the_first_event_and_max_meters_rate_the_largest_value() -> None:
    assert debits([charge(model="flat", amount=500)], "count", [Decimal(1)] * 3) == [500, 0, 0]
    assert debits([charge(model="per_unit", unit_amount="10")], "max", [Decimal(3), Decimal(2), Decimal(5)]) == [
        30,
        0,
        20,
    ]


def test_meters_whose_quantity_is_not_additive_are_not_rated_at_once() -> None:
    assert not rating.rated_at_once("unique_count")
    with pytest.raises(ValueError, match="not rated at once"):
        rating.step([charge(model="per_unit", unit_amount="1")], "latest", rating.Running(), Decimal(1))


CHARGES = st.sampled_from(
    [
        [charge(model="per_unit", unit_amount="0.37", free_units=3)],
        [charge(**GRADUATED)],
        [charge(model="volume", tiers=[{"up_to": 5, "unit_amount": "3"}, {"up_to": None, "unit_amount": "1.5"}])],
        [charge(model="package", package_size=4, unit_amount="25")],
        [charge(model="percentage", percent="2.9", fixed_amount=30)],
        [charge(model="percentage", percent="1.5", min_amount=10, max_amount=40)],
        [charge(model="flat", amount=99), charge(model="per_unit", unit_amount="0.001")],
    ]
)


@settings(max_examples=60, deadline=None)
@given(
    CHARGES,
    st.sampled_from(["count", "sum", "max"]),
    st.lists(st.decimals(min_value=0, max_value=5000, places=3), min_size=1, max_size=25),
)
def test_a_periods_debits_add_up_to_its_usage_lines(charges: list[Charge], aggregation: str, values: list) -> None:
    values = [Decimal(1) if aggregation == "count" else v for v in values]
    assert sum(debits(charges, aggregation, values)) == line_amount(charges, aggregation, values)


# ---------------------------------------------------------------------------------- policy


def test_a_refusing_policy_refuses_what_the_balance_does_not_cover() -> None:
    assert decide(PrepaidPolicy("refuse"), 100, 100).allowed
    assert not decide(PrepaidPolicy("refuse"), 99, 100).allowed
    assert decide(PrepaidPolicy("refuse"), 5, 0).allowed  # free usage with money left
    assert not decide(PrepaidPolicy("refuse"), 0, 0).allowed  # at zero, nothing more: a free unit neither
    assert decide(PrepaidPolicy("refuse"), -5, -3).allowed  # money given back always


def test_a_suspending_policy_goes_below_zero_and_announces_it_once() -> None:
    policy = PrepaidPolicy("suspend")
    crossing = decide(policy, 30, 50)
    assert crossing.allowed and crossing.after == -20 and [b.event for b in crossing.crossed] == [EXHAUSTED]
    assert decide(policy, -20, 10).crossed == ()  # already at zero or below
    assert [b.event for b in decide(policy, 10, 10).crossed] == [EXHAUSTED]  # exactly to zero


def test_the_low_balance_threshold_is_crossed_once() -> None:
    policy = PrepaidPolicy("refuse", low_balance_threshold=100)
    assert decide(policy, 150, 50).crossed == ()  # at the threshold is not below it
    assert [b.event for b in decide(policy, 150, 51).crossed] == [LOW]
    assert decide(policy, 99, 10).crossed == ()  # below already
    assert [b.event for b in decide(policy, 100, 1).crossed] == [LOW]


# ---------------------------------------------------------------------------------- charging


class World:
    def __init__(self, policy: PrepaidPolicy | None = None, mode: str = "prepaid") -> None:
        self.clock = FrozenClock(NOW)
        self.policy = policy or PrepaidPolicy()
        catalog_repo, self.customer_repo = MemoryCatalog(), MemoryCustomers()
        self.subscription_repo = MemorySubscriptions(catalog_repo, self.customer_repo)
        catalog = CatalogService(catalog_repo, self.clock)
        lookups = CatalogLookups(catalog_repo)
        subscriptions = SubscriptionService(self.subscription_repo, self.customer_repo, lookups, self.clock)
        catalog.create(
            SCOPE, "meter", create_request("meter", {"code": "calls", "name": "Calls", "aggregation": "count"})
        )
        meter = {"code": "secs", "name": "Seconds", "aggregation": "sum", "field": "s"}
        catalog.create(SCOPE, "meter", create_request("meter", meter))
        meter = {"code": "users", "name": "Users", "aggregation": "unique_count", "field": "u"}
        catalog.create(SCOPE, "meter", create_request("meter", meter))
        charges = [
            {"meter": "calls", "model": "per_unit", "unit_amount": "10"},
            {"meter": "secs", **GRADUATED},
            {"meter": "users", "model": "per_unit", "unit_amount": "100"},
        ]
        plan = {"code": "p", "name": "P", "currency": "USD", "interval": "month", "charges": charges}
        catalog.create(SCOPE, "plan", create_request("plan", plan))
        customer = CustomerCreate.model_validate({"name": "C", "external_id": "ext-1", "billing_mode": mode})
        self.customer = CustomerService(self.customer_repo, self.clock).create(SCOPE, customer).id
        start = (NOW - timedelta(days=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
        subscriptions.create(
            SCOPE, parse(SubscriptionCreate, {"customer": self.customer, "plan": "p", "start_date": start})
        )
        self.events = MemoryUsageEvents()
        self.store = MemoryPrepaid(self.events)
        directory = Directory(self.customer_repo, self.subscription_repo, lookups, lambda scope, sub: [])
        self.ingest: UsageIngest
        self.prepaid = PrepaidCharging(
            self.store, directory, lambda scope: self.policy, lambda scope, e: self.ingest.prepare(scope, e), self.clock
        )
        self.ingest = UsageIngest(
            self.events, directory, lambda scope: timedelta(hours=1), self.clock, None, self.prepaid
        )

    def send(self, txid: str, code: str = "calls", **props: Any) -> bool:
        body = {"transaction_id": txid, "customer": "ext-1", "code": code, "properties": props}
        return self.ingest.ingest_one(SCOPE, schema.read_one(body))

    @property
    def balance(self) -> int:
        return self.store.wallet(SCOPE, self.customer).balance


def test_an_event_is_debited_as_it_is_stored_and_a_duplicate_debits_nothing() -> None:
    world = World()
    world.store.top_up(SCOPE, world.customer, 100)
    assert world.send("a") is True and world.balance == 90
    assert world.send("a") is False and world.balance == 90
    assert world.send("b", "secs", s=12) is True and world.balance == 90 - (50 + 4)
    assert world.store.wallet(SCOPE, world.customer).unbilled == 64


def test_a_refused_event_is_a_402_naming_it_and_nothing_is_stored() -> None:
    world = World()
    world.store.top_up(SCOPE, world.customer, 15)
    assert world.send("a")
    with pytest.raises(InsufficientBalance) as refused:
        world.send("b")
    assert (
        refused.value.status == 402 and refused.value.code == "insufficient_balance" and "'b'" in refused.value.message
    )
    assert not world.events.existing(SCOPE, ["b"]) and world.balance == 5
    assert world.send("a") is False  # a duplicate is a duplicate, balance or not


def test_a_batch_reports_the_refused_events_and_keeps_the_others() -> None:
    world = World()
    world.store.top_up(SCOPE, world.customer, 25)
    bodies = [{"transaction_id": t, "customer": "ext-1", "code": "calls"} for t in ("a", "b", "c", "a")]
    result = world.ingest.ingest(SCOPE, schema.read_all(bodies))
    assert [e.transaction_id for e in result.accepted] == ["a", "b"] and result.duplicates == [3]
    assert [(r.index, r.code) for r in result.rejected] == [(2, "insufficient_balance")]
    assert world.balance == 5


def test_a_suspending_tenant_accepts_the_event_and_emits_exhausted_once() -> None:
    world = World(PrepaidPolicy("suspend", low_balance_threshold=50))
    world.store.top_up(SCOPE, world.customer, 60)
    world.send("a")  # 50: not below the threshold
    assert world.store.notices == []
    world.send("b")  # 40: below it
    for txid in "cdef":
        world.send(txid)  # 30, 20, 10, 0: exhausted at 0
    world.send("g")  # -10
    assert world.balance == -10
    notices = [(n.type, n.data["balance"]) for n in world.store.notices]
    assert notices == [(LOW, 40), (EXHAUSTED, 0)]
    assert world.store.notices[0].data == {
        "customer": world.customer,
        "currency": "USD",
        "balance": 40,
        "threshold": 50,
    }


def test_a_top_up_arms_the_low_balance_notice_again() -> None:
    world = World(PrepaidPolicy("refuse", low_balance_threshold=20))
    world.store.top_up(SCOPE, world.customer, 25)
    world.send("a")
    world.store.top_up(SCOPE, world.customer, 100)
    world.send("b")
    world.send("c", "secs", s=10)  # 105 - 50 = 55
    world.send("d", "secs", s=20)  # 55 - 40 = 15: below 20 again
    assert [(n.type, n.data["balance"]) for n in world.store.notices] == [(LOW, 15), (LOW, 15)]


def test_meters_not_rated_at_once_are_stored_without_a_debit_but_not_at_zero() -> None:
    world = World()
    with pytest.raises(InsufficientBalance):
        world.send("u", "users", u="alice")  # at zero a refusing tenant takes nothing more
    world.store.top_up(SCOPE, world.customer, 1)
    assert world.send("u", "users", u="alice") and world.balance == 1


def test_a_period_whose_statement_is_final_takes_no_more_debits() -> None:
    from billing.errors import DomainRuleViolation

    world = World()
    world.store.top_up(SCOPE, world.customer, 100)
    assert world.send("a")
    world.store.close_all()  # the statement was finalized: its period's debits released
    with pytest.raises(DomainRuleViolation) as closed:
        world.send("b")
    assert (closed.value.code, closed.value.param) == ("period_closed", "timestamp")
    assert not world.events.existing(SCOPE, ["b"])


def test_postpaid_customers_are_ingested_as_before() -> None:
    world = World(mode="postpaid")
    assert world.send("a") and world.store.debits == 0 and world.events.existing(SCOPE, ["a"]) == {"a"}


def test_authorize_prices_the_quantity_at_the_marginal_price_and_reserves_nothing() -> None:
    world = World()
    world.store.top_up(SCOPE, world.customer, 100)
    world.send("a", "secs", s=8)  # 40
    allowed = world.prepaid.authorize(SCOPE, "ext-1", AuthorizeRequest(meter="secs", quantity=Decimal(5)))
    assert (allowed.allowed, allowed.amount, allowed.balance, allowed.to_public()["balance_after"]) == (
        True,
        16,
        60,
        44,
    )
    refused = world.prepaid.authorize(SCOPE, world.customer, AuthorizeRequest(meter="calls", quantity=Decimal(7)))
    assert (refused.allowed, refused.amount) == (False, 70)
    assert world.balance == 60


def test_authorize_names_the_field_it_refuses() -> None:
    world = World()
    with pytest.raises(InvalidRequest) as wrong:
        world.prepaid.authorize(SCOPE, "ext-1", AuthorizeRequest(meter="calls", quantity=Decimal("1.5")))
    assert wrong.value.param == "quantity"
    postpaid = World(mode="postpaid")
    with pytest.raises(DomainRuleViolation) as not_prepaid:
        postpaid.prepaid.authorize(SCOPE, "ext-1", AuthorizeRequest(meter="calls", quantity=Decimal(1)))
    assert not_prepaid.value.code == "customer_not_prepaid"


def test_threads_debiting_one_balance_never_overdraw() -> None:
    world = World()
    world.store.top_up(SCOPE, world.customer, 1000)
    accepted: list[str] = []

    def spend(worker: int) -> None:
        for n in range(30):
            try:
                if world.send(f"t{worker}-{n}"):
                    accepted.append(f"t{worker}-{n}")
            except InsufficientBalance:
                pass

    threads = [threading.Thread(target=spend, args=(w,)) for w in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(accepted) == 100 and world.balance == 0


def test_two_containers_with_stale_states_debit_exactly_and_refuse_only_on_the_store() -> None:
    world = World()
    world.store.top_up(SCOPE, world.customer, 100)
    other = PrepaidCharging(  # a second container: its own cache of what it last saw, the same store
        world.store, world.prepaid._directory, lambda scope: world.policy, world.ingest.prepare, world.clock
    )
    assert world.send("s-1", "secs", s=4)  # 20: this container saw 80, quantity 4
    assert other.charge(SCOPE, world.ingest.prepare(SCOPE, schema.read_one(
        {"transaction_id": "s-2", "customer": "ext-1", "code": "secs", "properties": {"s": 4}})))  # fmt: skip
    world.store.top_up(SCOPE, world.customer, 5)  # 80 - 20 + 5 = 65, which neither container saw
    assert world.send("s-3", "secs", s=4)  # its state is stale (quantity 4): read again, 2 x 5 + 2 x 2
    assert world.balance == 65 - 14
    assert other.charge(SCOPE, world.ingest.prepare(SCOPE, schema.read_one(
        {"transaction_id": "s-4", "customer": "ext-1", "code": "calls"})))  # fmt: skip
    # 51 - 10 = 41 in the store; this container saw 51: 30 more seconds cost 60, refused only once read
    with pytest.raises(InsufficientBalance):
        world.send("s-5", "secs", s=30)
    assert world.send("s-6", "secs", s=20)  # 40 of 41
    assert world.balance == 1 and world.store.wallet(SCOPE, world.customer).unbilled == 20 + 20 + 14 + 10 + 40
