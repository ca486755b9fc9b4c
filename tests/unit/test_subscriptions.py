"""Subscription rules: trials, periods, currency, coupons, add-ons, changes, cancellation, history."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from billing.catalog.lookups import CatalogLookups
from billing.catalog.service import CatalogService, create_request, update_request
from billing.customers import CustomerCreate, CustomerService, CustomerUpdate
from billing.errors import BillingError, Conflict, DomainRuleViolation, InvalidRequest, NotFound
from billing.scope import Scope
from billing.subscriptions.model import AddOnItem, Cancel, ChangePlan, SubscriptionCreate
from billing.subscriptions.service import SubscriptionQuery, SubscriptionService
from billing.validation import NoBody, parse
from tests.unit.clock import FrozenClock
from tests.unit.fakes import MemoryCatalog, MemoryCustomers, MemorySubscriptions

SCOPE = Scope("ten_a", livemode=False)
OTHER = Scope("ten_b", livemode=False)
NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


class World:
    def __init__(self) -> None:
        self.clock = FrozenClock(NOW)
        self.catalog_repo, self.customer_repo = MemoryCatalog(), MemoryCustomers()
        self.repo = MemorySubscriptions(self.catalog_repo, self.customer_repo)
        self.catalog = CatalogService(self.catalog_repo, self.clock)
        self.customers = CustomerService(self.customer_repo, self.clock)
        self.lookups = CatalogLookups(self.catalog_repo)
        self.service = SubscriptionService(self.repo, self.customer_repo, self.lookups, self.clock)
        self.catalog.create(
            SCOPE, "meter", create_request("meter", {"code": "calls", "name": "Calls", "aggregation": "count"})
        )
        for code, currency, interval, trial in [
            ("basic", "USD", "month", 0),
            ("pro", "USD", "month", 14),
            ("annual", "USD", "year", 0),
            ("euro", "EUR", "month", 0),
        ]:
            body = {"code": code, "name": code, "currency": currency, "interval": interval, "trial_days": trial}
            self.catalog.create(SCOPE, "plan", create_request("plan", {**body, "base_fee": 1000}))
        self.catalog.create(
            SCOPE,
            "add_on",
            create_request("add_on", {"code": "support", "name": "Support", "amount": 500, "currency": "USD"}),
        )
        self.catalog.create(
            SCOPE,
            "add_on",
            create_request("add_on", {"code": "eu-support", "name": "EU", "amount": 500, "currency": "EUR"}),
        )

    def customer(self, **fields: Any) -> str:
        return self.customers.create(SCOPE, CustomerCreate.model_validate(fields)).id

    def subscribe(self, **fields: Any) -> Any:
        body = {"customer": fields.pop("customer", None) or self.customer(), "plan": "basic", **fields}
        return self.service.create(SCOPE, parse(SubscriptionCreate, body))


@pytest.fixture
def world() -> World:
    return World()


def test_a_new_subscription_starts_its_period_now(world: World) -> None:
    sub = world.subscribe()
    assert (sub.status, sub.current_period_start, sub.current_period_end) == (
        "active",
        "2026-01-15T12:00:00Z",
        "2026-02-15T12:00:00Z",
    )
    assert sub.id.startswith("sub_") and sub.currency == "USD" and sub.plan_code == "basic"
    assert [e.type for e in world.repo.events] == ["SubscriptionCreated"]


def test_the_customer_takes_the_currency_of_its_first_plan(world: World) -> None:
    customer = world.customer()
    world.subscribe(customer=customer)
    assert world.customers.get(SCOPE, customer).currency == "USD"
    with pytest.raises(DomainRuleViolation) as refused:
        world.subscribe(customer=customer, plan="euro")
    assert refused.value.code == "currency_mismatch"


def test_trials_come_from_the_plan_or_the_request(world: World) -> None:
    trial = world.subscribe(plan="pro")
    assert (trial.status, trial.trial_end, trial.current_period_end) == (
        "trialing",
        "2026-01-29T12:00:00Z",
        "2026-01-29T12:00:00Z",
    )
    assert trial.billing_anchor == trial.trial_end
    assert world.subscribe(plan="pro", trial_days=0).status == "active"


def test_a_backdated_start_keeps_its_anchor(world: World) -> None:
    sub = world.subscribe(start_date="2025-11-30T00:00:00Z")
    assert (sub.current_period_start, sub.current_period_end) == ("2025-12-30T00:00:00Z", "2026-01-30T00:00:00Z")
    assert world.service.history(SCOPE, sub.id)[0].at == "2025-11-30T00:00:00Z"


@pytest.mark.parametrize(
    ("fields", "error", "param"),
    [
        ({"customer": "cus_missing"}, InvalidRequest, "customer"),
        ({"plan": "nope"}, InvalidRequest, "plan"),
        ({"plan": "basic", "coupon": "nope"}, InvalidRequest, "coupon"),
        ({"add_ons": [{"add_on": "nope"}]}, InvalidRequest, "add_ons[0].add_on"),
        ({"add_ons": [{"add_on": "eu-support"}]}, DomainRuleViolation, "add_ons[0]"),
        ({"start_date": "yesterday"}, InvalidRequest, "start_date"),
        ({"trial_days": -1}, InvalidRequest, "trial_days"),
    ],
)
def test_refusals_name_the_field_and_write_nothing(
    world: World, fields: dict[str, Any], error: type, param: str
) -> None:
    with pytest.raises(error) as refused:
        world.subscribe(**fields)
    assert refused.value.param == param
    assert world.repo.rows == {}


def test_archived_customers_cannot_subscribe(world: World) -> None:
    customer = world.customer()
    world.customers.archive(SCOPE, customer)
    with pytest.raises(DomainRuleViolation, match="archived"):
        world.subscribe(customer=customer)


def test_coupons_are_checked_and_counted(world: World) -> None:
    world.catalog.create(
        SCOPE,
        "coupon",
        create_request("coupon", {"code": "ONE", "percent_off": "10", "duration": "once", "max_redemptions": 1}),
    )
    world.catalog.create(
        SCOPE,
        "coupon",
        create_request(
            "coupon", {"code": "PROONLY", "percent_off": "10", "duration": "forever", "applies_to_plans": ["pro"]}
        ),
    )
    world.catalog.create(
        SCOPE,
        "coupon",
        create_request("coupon", {"code": "EUR5", "amount_off": 500, "currency": "EUR", "duration": "once"}),
    )
    world.catalog.create(
        SCOPE,
        "coupon",
        create_request(
            "coupon", {"code": "OLD", "percent_off": "5", "duration": "once", "redeem_by": "2026-01-01T00:00:00Z"}
        ),
    )
    assert world.subscribe(coupon="ONE").coupon == "ONE"
    assert world.catalog.find(SCOPE, "coupon", "ONE").times_redeemed == 1  # type: ignore[union-attr]
    for code, reason in [
        ("ONE", "coupon_exhausted"),
        ("PROONLY", "coupon_not_applicable"),
        ("EUR5", "currency_mismatch"),
        ("OLD", "coupon_expired"),
    ]:
        with pytest.raises(DomainRuleViolation) as refused:
            world.subscribe(coupon=code)
        assert refused.value.code == reason


def test_change_now_and_at_period_end(world: World) -> None:
    sub = world.subscribe()
    scheduled = world.service.change_plan(SCOPE, sub.id, parse(ChangePlan, {"plan": "pro", "when": "period_end"}))
    assert scheduled.plan_code == "basic"
    assert scheduled.pending_change is not None
    assert (scheduled.pending_change.type, scheduled.pending_change.effective_at) == (
        "plan_change",
        sub.current_period_end,
    )
    world.clock.advance(days=3)
    changed = world.service.change_plan(SCOPE, sub.id, parse(ChangePlan, {"plan": "pro"}))
    assert (changed.plan_code, changed.pending_change, changed.current_period_end) == (
        "pro",
        None,
        sub.current_period_end,
    )
    yearly = world.service.change_plan(SCOPE, sub.id, parse(ChangePlan, {"plan": "annual"}))
    assert (yearly.current_period_start, yearly.current_period_end) == ("2026-01-18T12:00:00Z", "2027-01-18T12:00:00Z")
    with pytest.raises(DomainRuleViolation) as refused:
        world.service.change_plan(SCOPE, sub.id, parse(ChangePlan, {"plan": "euro"}))
    assert refused.value.code == "currency_mismatch"
    history = world.service.history(SCOPE, sub.id)
    assert [h.type for h in history] == ["created", "plan_change_scheduled", "plan_changed", "plan_changed"]
    assert history[2].details["previous_plan"] == sub.plan and history[2].at == "2026-01-18T12:00:00Z"


def test_cancel_pause_resume(world: World) -> None:
    sub = world.subscribe()
    at_end = world.service.cancel(SCOPE, sub.id, parse(Cancel, {"when": "period_end"}))
    assert at_end.status == "active" and at_end.cancel_at_period_end
    with pytest.raises(InvalidRequest) as refused:
        parse(NoBody, {"until": "later"})  # what the pause route parses
    assert refused.value.param == "until"
    assert world.service.pause(SCOPE, sub.id).status == "paused"
    assert world.service.resume(SCOPE, sub.id).status == "active"
    canceled = world.service.cancel(SCOPE, sub.id, parse(Cancel, {}))
    assert (canceled.status, canceled.canceled_at) == ("canceled", "2026-01-15T12:00:00Z")
    for action in (
        lambda: world.service.resume(SCOPE, sub.id),
        lambda: world.service.change_plan(SCOPE, sub.id, parse(ChangePlan, {"plan": "pro"})),
        lambda: world.service.cancel(SCOPE, sub.id, parse(Cancel, {})),
    ):
        with pytest.raises(Conflict) as refused:
            action()
        assert refused.value.code == "invalid_transition"
    assert [e.type for e in world.repo.events][1:] == [
        "SubscriptionCancellationScheduled",
        "SubscriptionPaused",
        "SubscriptionResumed",
        "SubscriptionCanceled",
    ]


def test_add_ons_are_added_replaced_and_removed(world: World) -> None:
    sub = world.subscribe(add_ons=[{"add_on": "support"}])
    assert [(a.add_on, a.quantity) for a in sub.add_ons] == [("support", 1)]
    more = world.service.add_add_on(SCOPE, sub.id, parse(AddOnItem, {"add_on": "support", "quantity": 3}))
    assert [(a.add_on, a.quantity) for a in more.add_ons] == [("support", 3)]
    assert world.service.remove_add_on(SCOPE, sub.id, "support").add_ons == []
    with pytest.raises(NotFound):
        world.service.remove_add_on(SCOPE, sub.id, "support")


def test_superseded_plans_take_no_new_subscriptions(world: World) -> None:
    old = world.catalog.find(SCOPE, "plan", "basic")
    assert old is not None
    new = world.catalog.update(SCOPE, "plan", old.id, update_request("plan", {"base_fee": 2000}))
    assert world.subscribe(plan="basic").plan == new.id
    with pytest.raises(DomainRuleViolation) as refused:
        world.subscribe(plan=old.id)
    assert refused.value.code == "plan_superseded"


def test_tariff_migration_schedules_each_subscription_once(world: World) -> None:
    sub = world.subscribe()
    listed = world.service.list(SCOPE, SubscriptionQuery()).data[0]  # a list's copy, about to go stale
    world.service.add_add_on(SCOPE, sub.id, parse(AddOnItem, {"add_on": "support"}))
    old = world.catalog.find(SCOPE, "plan", "basic")
    new = world.catalog.update(SCOPE, "plan", old.id, update_request("plan", {"base_fee": 2000}))  # type: ignore[union-attr]
    assert world.service.schedule_tariff_change(SCOPE, listed.id, new, "2026-03-01T00:00:00Z")  # type: ignore[arg-type]
    assert not world.service.schedule_tariff_change(SCOPE, listed.id, new, "2026-03-01T00:00:00Z")  # type: ignore[arg-type]
    after = world.service.get(SCOPE, sub.id)
    assert [a.add_on for a in after.add_ons] == ["support"]  # the change made meanwhile survives
    assert after.pending_change is not None and after.pending_change.type == "tariff_change"
    assert world.service.schedule_tariff_change(SCOPE, sub.id, new, "2026-04-01T00:00:00Z")  # type: ignore[arg-type]
    assert [e.type for e in world.repo.events].count("TariffChangeScheduled") == 2


def test_migrations_leave_the_customers_own_pending_changes(world: World) -> None:
    leaving, switching = world.subscribe(), world.subscribe()
    world.service.cancel(SCOPE, leaving.id, parse(Cancel, {"when": "period_end"}))
    world.service.change_plan(SCOPE, switching.id, parse(ChangePlan, {"plan": "pro", "when": "period_end"}))
    old = world.catalog.find(SCOPE, "plan", "basic")
    new = world.catalog.update(SCOPE, "plan", old.id, update_request("plan", {"base_fee": 2000}))  # type: ignore[union-attr]
    for sub in (leaving, switching):
        assert not world.service.schedule_tariff_change(SCOPE, sub.id, new, "2026-03-01T00:00:00Z")  # type: ignore[arg-type]
    assert world.service.get(SCOPE, leaving.id).pending_change.type == "cancel"  # type: ignore[union-attr]


def test_a_pending_cancellation_wins(world: World) -> None:
    sub = world.subscribe()
    canceling = world.service.cancel(SCOPE, sub.id, parse(Cancel, {"when": "period_end"}))
    assert canceling.cancel_at_period_end
    with pytest.raises(DomainRuleViolation) as refused:
        world.service.change_plan(SCOPE, sub.id, parse(ChangePlan, {"plan": "pro", "when": "period_end"}))
    assert refused.value.code == "cancellation_pending"
    changed = world.service.change_plan(SCOPE, sub.id, parse(ChangePlan, {"plan": "pro", "when": "now"}))
    assert changed.cancel_at_period_end and changed.pending_change is not None
    assert changed.pending_change.type == "cancel"


def test_scheduled_changes_take_the_period_running_now(world: World) -> None:
    sub = world.subscribe()
    world.clock.advance(days=40)  # the stored period ended; no run has rolled it yet
    scheduled = world.service.cancel(SCOPE, sub.id, parse(Cancel, {"when": "period_end"}))
    assert scheduled.pending_change is not None
    assert scheduled.pending_change.effective_at == "2026-03-15T12:00:00Z"


def test_an_anchor_after_the_start_makes_a_stub_first_period(world: World) -> None:
    sub = world.subscribe(billing_anchor="2026-01-25T00:00:00Z")
    assert (sub.current_period_start, sub.current_period_end) == ("2026-01-15T12:00:00Z", "2026-01-25T00:00:00Z")
    earlier = world.subscribe(billing_anchor="2026-01-01T00:00:00Z")
    assert (earlier.current_period_start, earlier.current_period_end) == (
        "2026-01-15T12:00:00Z",
        "2026-02-01T00:00:00Z",
    )


def test_subscriptions_cannot_start_in_the_future(world: World) -> None:
    with pytest.raises(DomainRuleViolation) as refused:
        world.subscribe(start_date="2026-02-01T00:00:00Z")
    assert refused.value.param == "start_date"


def test_resuming_during_the_trial_returns_to_trialing(world: World) -> None:
    sub = world.subscribe(plan="pro")
    world.service.pause(SCOPE, sub.id)
    assert world.service.resume(SCOPE, sub.id).status == "trialing"


def test_a_customers_currency_never_changes_once_set(world: World) -> None:
    customer = world.customer()
    world.subscribe(customer=customer)
    for currency in ("EUR", None):
        with pytest.raises(DomainRuleViolation) as refused:
            world.customers.update(SCOPE, customer, CustomerUpdate.model_validate({"currency": currency}))
        assert refused.value.code == "currency_locked"
    assert world.customers.update(SCOPE, customer, CustomerUpdate.model_validate({"currency": "USD"})).currency == "USD"


def test_other_tenants_subscriptions_are_not_found(world: World) -> None:
    sub = world.subscribe()
    with pytest.raises(BillingError) as refused:
        world.service.get(OTHER, sub.id)
    assert refused.value.type == "not_found_error"
    assert world.service.list(OTHER, SubscriptionQuery()).data == []


def test_a_canceled_trial_cannot_be_resumed(world: World) -> None:
    sub = world.subscribe(plan="pro")
    world.service.cancel(SCOPE, sub.id, parse(Cancel, {}))
    with pytest.raises(Conflict):
        world.service.resume(SCOPE, sub.id)
