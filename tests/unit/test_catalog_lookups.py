"""The catalog as billing reads it: typed lookups, one cache, fresh where it must be."""

from __future__ import annotations

from typing import Any

import pytest

from billing.catalog.charges import Charge
from billing.catalog.lookups import CatalogLookups
from billing.catalog.plans import Plan
from billing.catalog.service import CatalogService, create_request, update_request
from billing.errors import NotFound
from billing.pricing import graduated, per_unit
from billing.scope import Scope
from tests.unit.clock import FrozenClock
from tests.unit.fakes import MemoryCatalog

SCOPE = Scope("ten_a", livemode=False)
CHARGES = [
    {"meter": "calls", "model": "per_unit", "unit_amount": "0.25", "free_units": 100},
    {"meter": "calls", "model": "graduated", "tiers": [{"up_to": 10, "unit_amount": "1"}, {"up_to": None}]},
]


def make(catalog: CatalogService, kind: str, body: dict[str, Any]) -> None:
    catalog.create(SCOPE, kind, create_request(kind, body))


@pytest.fixture
def repo() -> MemoryCatalog:
    return MemoryCatalog()


@pytest.fixture
def catalog(repo: MemoryCatalog) -> CatalogService:
    service = CatalogService(repo, FrozenClock())
    make(service, "meter", {"code": "calls", "name": "Calls", "aggregation": "count"})
    make(service, "plan", {"code": "pro", "name": "Pro", "currency": "USD", "interval": "month", "charges": CHARGES})
    make(service, "add_on", {"code": "seat", "name": "Seat", "amount": 500, "currency": "USD"})
    make(service, "coupon", {"code": "ONE", "percent_off": "10", "duration": "once", "max_redemptions": 1})
    return service


def test_charges_are_typed_and_shown_flat_as_sent(catalog: CatalogService, repo: MemoryCatalog) -> None:
    plan = CatalogLookups(repo).find_plan(SCOPE, "pro")
    assert isinstance(plan, Plan)
    first, second = plan.charges
    assert isinstance(first.params, per_unit.Params) and first.params.unit_amount == "0.25"
    assert isinstance(second.params, graduated.Params) and second.params.tiers[1].up_to is None
    shown = plan.model_dump(mode="json")["charges"]
    assert shown[0] == {"meter": "calls", "model": "per_unit", "supplier": None, "invoice_display_name": None,
                        "unit_amount": "0.25", "free_units": 100}  # fmt: skip
    assert shown[1]["tiers"] == [
        {"up_to": 10, "unit_amount": "1", "flat_amount": 0},
        {"up_to": None, "unit_amount": "0", "flat_amount": 0},
    ]
    assert Charge.model_validate(shown[0]) == first


def test_what_billing_reads_is_read_once_per_container(catalog: CatalogService, repo: MemoryCatalog) -> None:
    lookups = CatalogLookups(repo)
    plan_id = catalog.find(SCOPE, "plan", "pro").id  # type: ignore[union-attr]
    repo.reads = 0
    for _ in range(3):
        assert lookups.plan(SCOPE, plan_id).code == "pro"
        assert lookups.add_on(SCOPE, "seat").amount == 500
        assert lookups.meter(SCOPE, "calls") is not None
    assert repo.reads == 3
    lookups.plan(SCOPE, plan_id, fresh=True)
    assert repo.reads == 4


def test_coupons_and_plans_named_by_requests_are_read_fresh(catalog: CatalogService, repo: MemoryCatalog) -> None:
    lookups = CatalogLookups(repo)
    first = lookups.find_plan(SCOPE, "pro")
    assert first is not None and lookups.plan(SCOPE, first.id).version == 1
    second = catalog.update(SCOPE, "plan", first.id, update_request("plan", {"base_fee": 100}))
    assert lookups.find_plan(SCOPE, "pro") == second  # the current version at once
    assert lookups.find_plan(SCOPE, first.id).status == "superseded"  # type: ignore[union-attr]
    repo.reads = 0
    lookups.coupon(SCOPE, "ONE")
    lookups.coupon(SCOPE, "ONE")
    assert repo.reads == 2


def test_a_miss_is_asked_again(catalog: CatalogService, repo: MemoryCatalog) -> None:
    lookups = CatalogLookups(repo)
    assert lookups.meter(SCOPE, "gb") is None and lookups.find_add_on(SCOPE, "extra") is None
    make(catalog, "meter", {"code": "gb", "name": "GB", "aggregation": "max", "field": "gb"})
    meter = lookups.meter(SCOPE, "gb")
    assert meter is not None and meter.aggregation == "max"


def test_what_a_subscription_refers_to_exists_or_is_not_found(catalog: CatalogService, repo: MemoryCatalog) -> None:
    lookups = CatalogLookups(repo)
    with pytest.raises(NotFound) as plan:
        lookups.plan(SCOPE, "plan_01jqz8v6x5k3m2n1p0r9s8t7w6")
    with pytest.raises(NotFound) as add_on:
        lookups.add_on(SCOPE, "nope")
    assert (plan.value.param, add_on.value.param) == ("id", "add_on")
    assert lookups.find_plan(SCOPE, "plan_not-an-id") is None and lookups.tax_rate(SCOPE, "nope") is None


def test_tax_rates_are_read_across_pages(catalog: CatalogService, repo: MemoryCatalog) -> None:
    for n in range(101):
        make(catalog, "tax_rate", {"name": f"R{n}", "percent": "1.5", "country": "DE"})
    rates = CatalogLookups(repo).tax_rates(SCOPE)
    assert len({rate.id for rate in rates}) == 101 and {rate.name for rate in rates} == {f"R{n}" for n in range(101)}
    first = rates[0]
    assert first.applied().model_dump() == {"id": first.id, "name": first.name, "percent": "1.5", "inclusive": False}
