"""Catalog rules: each pricing model's configuration, references, codes and plan versions."""

from __future__ import annotations

from typing import Any

import pytest

from billing.catalog.service import CatalogQuery, CatalogService, create_request, update_request
from billing.errors import BillingError, Conflict, DomainRuleViolation, InvalidRequest
from billing.scope import Scope
from tests.unit.clock import FrozenClock
from tests.unit.fakes import MemoryCatalog

SCOPE = Scope("ten_a", livemode=False)
OTHER = Scope("ten_b", livemode=False)
TIERS = [
    {"up_to": 1000, "unit_amount": "0"},
    {"up_to": 10000, "unit_amount": "0.2"},
    {"up_to": None, "unit_amount": "0.1"},
]


@pytest.fixture
def repo() -> MemoryCatalog:
    return MemoryCatalog()


@pytest.fixture
def catalog(repo: MemoryCatalog) -> CatalogService:
    service = CatalogService(repo, FrozenClock())
    service.create(SCOPE, "meter", create_request("meter", {"code": "calls", "name": "Calls", "aggregation": "count"}))
    service.create(SCOPE, "supplier", create_request("supplier", {"code": "water", "name": "Water Co"}))
    return service


def plan(*charges: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"code": "pro", "name": "Pro", "currency": "USD", "interval": "month", "charges": list(charges), **fields}


def charge(model: str, **params: Any) -> dict[str, Any]:
    return {"meter": "calls", "model": model, **params}


@pytest.mark.parametrize(
    "valid",
    [
        charge("per_unit", unit_amount="0.00025", free_units=100),
        charge("per_unit", unit_amount="1000000000000"),  # the largest price: 10^12 minor units
        charge("per_unit", unit_amount="0.000000000001"),  # the finest: 12 decimals
        charge("graduated", tiers=TIERS),
        charge("volume", tiers=[{"up_to": 10, "unit_amount": "5", "flat_amount": 100}, {"up_to": None}]),
        charge("package", package_size=10, unit_amount="100"),
        charge("percentage", percent="2.9", fixed_amount=30, min_amount=50, max_amount=1000),
        charge("flat", amount=500, supplier="water", invoice_display_name="Water base"),
    ],
)
def test_each_pricing_model_accepts_its_configuration(catalog: CatalogService, valid: dict[str, Any]) -> None:
    saved = catalog.create(SCOPE, "plan", create_request("plan", plan(valid)))
    assert saved.model_dump()["charges"][0]["model"] == valid["model"]


@pytest.mark.parametrize(
    ("bad", "param", "code"),
    [
        (
            charge("graduated", tiers=[{"up_to": 10}, {"up_to": 5}, {"up_to": None}]),
            "charges[0].tiers[1].up_to",
            "parameter_invalid",
        ),
        (charge("graduated", tiers=[{"up_to": 10}, {"up_to": 20}]), "charges[0].tiers[1].up_to", "parameter_invalid"),
        (charge("volume", tiers=[{"up_to": None}, {"up_to": 10}]), "charges[0].tiers[0].up_to", "parameter_invalid"),
        (charge("volume", tiers=[]), "charges[0].tiers", "parameter_invalid"),
        (charge("per_unit", unit_amount="-1"), "charges[0].unit_amount", "parameter_invalid"),
        (charge("per_unit", unit_amount="1e30"), "charges[0].unit_amount", "parameter_invalid"),
        (charge("per_unit", unit_amount="1E+999999"), "charges[0].unit_amount", "parameter_invalid"),
        (charge("per_unit", unit_amount="1_000"), "charges[0].unit_amount", "parameter_invalid"),
        (charge("per_unit", unit_amount="NaN"), "charges[0].unit_amount", "parameter_invalid"),
        (charge("per_unit", unit_amount="1000000000000.5"), "charges[0].unit_amount", "parameter_invalid"),
        (charge("per_unit", unit_amount="0.0000000000001"), "charges[0].unit_amount", "parameter_invalid"),
        (
            charge("graduated", tiers=[{"up_to": None, "unit_amount": "1e3"}]),
            "charges[0].tiers[0].unit_amount",
            "parameter_invalid",
        ),
        (charge("per_unit", unit_amount=5), "charges[0].unit_amount", "parameter_invalid"),
        (charge("per_unit"), "charges[0].unit_amount", "parameter_missing"),
        (charge("per_unit", unit_amount="1", tiers=[]), "charges[0].tiers", "parameter_unknown"),
        (charge("package", package_size=0, unit_amount="1"), "charges[0].package_size", "parameter_invalid"),
        (charge("percentage", percent="101"), "charges[0].percent", "parameter_invalid"),
        (charge("percentage", percent="1", min_amount=10, max_amount=5), "charges[0].min_amount", "parameter_invalid"),
        (charge("flat", amount=-5), "charges[0].amount", "parameter_invalid"),
        (charge("stairs", amount=5), "charges[0].model", "parameter_invalid"),
        ({"meter": "nope", "model": "flat", "amount": 1}, "charges[0].meter", "resource_missing"),
        (charge("flat", amount=1, supplier="gas"), "charges[0].supplier", "resource_missing"),
    ],
)
def test_bad_charges_name_the_exact_field(
    catalog: CatalogService, repo: MemoryCatalog, bad: dict[str, Any], param: str, code: str
) -> None:
    before = dict(repo.items)
    with pytest.raises(InvalidRequest) as refused:
        catalog.create(SCOPE, "plan", create_request("plan", plan(charge("flat", amount=1), bad)))
    assert (refused.value.param, refused.value.code) == (param.replace("[0]", "[1]", 1), code)
    assert repo.items == before


@pytest.mark.parametrize(
    ("body", "param"),
    [
        (plan(currency="usd"), "currency"),
        (plan(interval="fortnight"), "interval"),
        (plan(base_fee=-1), "base_fee"),
        (plan(base_fee=9.99), "base_fee"),
        (plan(trial_days=1000), "trial_days"),
        (plan(code="has space"), "code"),
    ],
)
def test_bad_plans_name_the_field(catalog: CatalogService, body: dict[str, Any], param: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        catalog.create(SCOPE, "plan", create_request("plan", body))
    assert refused.value.param == param


@pytest.mark.parametrize(
    ("kind", "body", "param"),
    [
        ("meter", {"code": "m", "name": "M", "aggregation": "sum"}, "field"),
        ("meter", {"code": "m", "name": "M", "aggregation": "count", "field": "x"}, "field"),
        ("meter", {"code": "m", "name": "M", "aggregation": "p99", "field": "x"}, "aggregation"),
        (
            "meter",
            {"code": "m", "name": "M", "aggregation": "sum", "field": "s", "rounding": {"increment": 0}},
            "rounding.increment",
        ),
        ("coupon", {"code": "c", "duration": "once"}, "percent_off"),
        ("coupon", {"code": "c", "duration": "once", "percent_off": "10", "amount_off": 5}, "percent_off"),
        ("coupon", {"code": "c", "duration": "once", "amount_off": 500}, "currency"),
        ("coupon", {"code": "c", "duration": "repeating", "percent_off": "10"}, "duration_in_periods"),
        ("coupon", {"code": "c", "duration": "once", "percent_off": "10", "redeem_by": "tomorrow"}, "redeem_by"),
        (
            "coupon",
            {"code": "c", "duration": "once", "percent_off": "10", "applies_to_plans": ["nope"]},
            "applies_to_plans[0]",
        ),
        ("tax_rate", {"name": "VAT", "percent": "19", "region": "BY"}, "country"),
        ("tax_rate", {"name": "VAT", "percent": "120"}, "percent"),
        ("add_on", {"code": "a", "name": "A", "amount": 5, "currency": "USD", "supplier": "gas"}, "supplier"),
        ("supplier", {"code": "s", "name": "S", "bank_details": {"iban": "nope"}}, "bank_details.iban"),
    ],
)
def test_bad_catalog_input_names_the_field(
    catalog: CatalogService, kind: str, body: dict[str, Any], param: str
) -> None:
    with pytest.raises(InvalidRequest) as refused:
        catalog.create(SCOPE, kind, create_request(kind, body))
    assert refused.value.param == param


def test_codes_are_unique_per_tenant_and_kind(catalog: CatalogService) -> None:
    with pytest.raises(Conflict):
        catalog.create(
            SCOPE, "meter", create_request("meter", {"code": "calls", "name": "Again", "aggregation": "count"})
        )
    catalog.create(OTHER, "meter", create_request("meter", {"code": "calls", "name": "Theirs", "aggregation": "count"}))
    catalog.create(
        SCOPE,
        "add_on",
        create_request("add_on", {"code": "calls", "name": "Other kind", "amount": 1, "currency": "USD"}),
    )


def test_price_changes_make_a_new_version_and_keep_the_old(catalog: CatalogService, repo: MemoryCatalog) -> None:
    first = catalog.create(SCOPE, "plan", create_request("plan", plan(charge("graduated", tiers=TIERS), base_fee=4900)))
    renamed = catalog.update(SCOPE, "plan", first.id, update_request("plan", {"name": "Pro (2026)"}))
    assert renamed.id == first.id and renamed.model_dump()["version"] == 1
    second = catalog.update(SCOPE, "plan", first.id, update_request("plan", {"base_fee": 5900}))
    assert second.id != first.id
    assert second.model_dump()["version"] == 2 and second.model_dump()["previous_version"] == first.id
    old = catalog.get(SCOPE, "plan", first.id).model_dump()
    assert (old["status"], old["superseded_by"], old["base_fee"]) == ("superseded", second.id, 4900)
    assert catalog.find(SCOPE, "plan", "pro").id == second.id  # type: ignore[union-attr]
    with pytest.raises(DomainRuleViolation):
        catalog.update(SCOPE, "plan", first.id, update_request("plan", {"base_fee": 1}))
    assert [e.type for e in repo.events][-3:] == ["PlanCreated", "PlanUpdated", "PlanVersionCreated"]


def test_immutable_fields_cannot_be_patched(catalog: CatalogService) -> None:
    meter = catalog.get(SCOPE, "meter", catalog.find(SCOPE, "meter", "calls").id)  # type: ignore[union-attr]
    with pytest.raises(InvalidRequest) as refused:
        catalog.update(SCOPE, "meter", meter.id, update_request("meter", {"aggregation": "sum"}))
    assert refused.value.code == "parameter_unknown"
    with pytest.raises(InvalidRequest):
        catalog.update(SCOPE, "tax_rate", "txr_x", update_request("tax_rate", {"percent": "5"}))


def test_other_tenants_objects_are_not_found(catalog: CatalogService) -> None:
    meter = catalog.find(SCOPE, "meter", "calls")
    assert meter is not None
    with pytest.raises(BillingError) as refused:
        catalog.get(OTHER, "meter", meter.id)
    assert refused.value.type == "not_found_error"
    assert catalog.find(OTHER, "meter", "calls") is None
    assert catalog.list(OTHER, "meter", CatalogQuery()).data == []


@pytest.mark.parametrize(
    ("kind", "create", "patch"),
    [
        ("plan", plan(), {"base_fee": None}),
        ("plan", plan(), {"charges": None}),
        ("tax_rate", {"name": "VAT", "percent": "19"}, {"active": None}),
        ("supplier", {"code": "gas", "name": "Gas"}, {"metadata": None}),
        ("meter", {"code": "m2", "name": "M", "aggregation": "count"}, {"name": None}),
    ],
)
def test_fields_that_cannot_be_empty_refuse_null(
    catalog: CatalogService, kind: str, create: dict[str, Any], patch: dict[str, Any]
) -> None:
    obj = catalog.create(SCOPE, kind, create_request(kind, create))
    with pytest.raises(InvalidRequest) as refused:
        catalog.update(SCOPE, kind, obj.id, update_request(kind, patch))
    assert refused.value.param == next(iter(patch))


def test_optional_fields_can_be_cleared(catalog: CatalogService) -> None:
    supplier = catalog.create(
        SCOPE, "supplier", create_request("supplier", {"code": "gas", "name": "Gas", "email": "a@b.co"})
    )
    assert (
        catalog.update(SCOPE, "supplier", supplier.id, update_request("supplier", {"email": None})).model_dump()[
            "email"
        ]
        is None
    )


@pytest.mark.parametrize(
    "redeem_by",
    ["0357-12-09T05:11:59-04:55", "0001-01-01T00:00:00+05:00", "9999-12-31T00:00:00Z", "2026-01-01T00:00:00"],
)
def test_timestamps_outside_the_supported_range_are_refused(catalog: CatalogService, redeem_by: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        catalog.create(
            SCOPE,
            "coupon",
            create_request("coupon", {"code": "c", "percent_off": "5", "duration": "once", "redeem_by": redeem_by}),
        )
    assert refused.value.param == "redeem_by"
