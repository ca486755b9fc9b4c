"""Each pricing model on worked examples, and properties every model keeps."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.catalog.charges import Charge
from billing.decimals import to_minor
from billing.pricing import MODELS, Params, Usage

TIERS = [  # first 1,000 free, then 0.2 cents up to 10,000, then 0.1 cents
    {"up_to": 1000, "unit_amount": "0"},
    {"up_to": 10000, "unit_amount": "0.2"},
    {"up_to": None, "unit_amount": "0.1"},
]


def charge_params(charge: dict) -> Params:
    """The parameters of a charge as a plan stores it."""
    return Charge.model_validate({"meter": "calls", **charge}).params


def rate(charge: dict, quantity: str | int, events: int = 0, values: list[str] | None = None):
    usage = Usage(Decimal(quantity), events, [Decimal(v) for v in values] if values is not None else None)
    return MODELS[charge["model"]].rate(charge_params(charge), usage)


def test_graduated_prices_each_unit_in_its_own_tier() -> None:
    rated = rate({"model": "graduated", "tiers": TIERS}, 12_000)
    assert rated.amount == 1000 * 0 + 9000 * Decimal("0.2") + 2000 * Decimal("0.1") == 2000  # USD 20.00
    assert [(r["from"], r["units"]) for r in rated.breakdown] == [("0", "1000"), ("1000", "9000"), ("10000", "2000")]
    assert rate({"model": "graduated", "tiers": TIERS}, 1000).amount == 0
    assert rate({"model": "graduated", "tiers": TIERS}, 1001).amount == Decimal("0.2")


def test_graduated_flat_amounts_count_once_a_tier_is_reached() -> None:
    tiers = [{"up_to": 10, "flat_amount": 500}, {"up_to": None, "unit_amount": "30", "flat_amount": 100}]
    assert rate({"model": "graduated", "tiers": tiers}, 0).amount == 0
    assert rate({"model": "graduated", "tiers": tiers}, 4).amount == 500
    assert rate({"model": "graduated", "tiers": tiers}, 12).amount == 500 + 100 + 2 * 30


def test_volume_prices_every_unit_at_the_tier_the_total_reaches() -> None:
    assert rate({"model": "volume", "tiers": TIERS}, 12_000).amount == 12_000 * Decimal("0.1")
    assert rate({"model": "volume", "tiers": TIERS}, 10_000).amount == 10_000 * Decimal("0.2")
    assert rate({"model": "volume", "tiers": TIERS}, 0).amount == 0


def test_package_charges_every_started_package() -> None:
    rated = rate({"model": "package", "package_size": 10, "unit_amount": "100"}, 121)
    assert rated.amount == 1300 and rated.breakdown[0]["packages"] == "13"
    assert rate({"model": "package", "package_size": 10, "unit_amount": "100", "free_units": 21}, 121).amount == 1000
    assert rate({"model": "package", "package_size": 10, "unit_amount": "100", "free_units": 200}, 121).amount == 0


def test_per_unit_with_free_units_and_sub_cent_prices() -> None:
    rated = rate({"model": "per_unit", "unit_amount": "0.00025", "free_units": 1000}, 5_001_000)
    assert rated.amount == Decimal("1250") and rated.units == 5_000_000


def test_percentage_of_the_amount_plus_a_fee_per_event() -> None:
    card = {"model": "percentage", "percent": "2.9", "fixed_amount": 30}
    assert rate(card, 10_000, events=2).amount == Decimal("290") + 60
    bounded = {**card, "min_amount": 50, "max_amount": 200}
    # 2.9% of 100 + 30 = 32.9 -> 50; of 5,000 + 30 = 175; of 20,000 + 30 = 610 -> 200
    assert rate(bounded, 25_100, events=3, values=["100", "5000", "20000"]).amount == 50 + 175 + 200
    with pytest.raises(ValueError, match="per event"):
        rate(bounded, 100, events=1)


def test_flat_charges_only_periods_with_usage() -> None:
    assert rate({"model": "flat", "amount": 999}, 0).amount == 0
    assert rate({"model": "flat", "amount": 999}, "0.5", events=1).amount == 999


def test_rounding_is_half_to_even_once() -> None:
    assert [to_minor(Decimal(x)) for x in ("0.5", "1.5", "2.5", "2.5001", "-0.5")] == [0, 2, 2, 3, 0]


quantities = st.decimals(min_value=0, max_value=10**7, places=3, allow_nan=False, allow_infinity=False)


@given(low=quantities, high=quantities)
def test_graduated_and_volume_never_charge_less_for_more(low: Decimal, high: Decimal) -> None:
    low, high = min(low, high), max(low, high)
    assert (
        rate({"model": "graduated", "tiers": TIERS}, low).amount
        <= rate({"model": "graduated", "tiers": TIERS}, high).amount
    )


@given(quantity=quantities)
def test_graduated_breakdown_adds_up(quantity: Decimal) -> None:
    rated = rate({"model": "graduated", "tiers": TIERS}, quantity)
    assert sum(Decimal(r["units"]) for r in rated.breakdown) == quantity
    assert sum(Decimal(r["amount"]) for r in rated.breakdown) == rated.amount


def test_prices_stored_under_the_older_rule_still_rate() -> None:
    """Plans saved before prices had to be plain decimals keep rating (new ones are refused)."""
    for stored, amount in ((".5", "50"), ("1e-3", "0.1"), ("5.", "500")):
        params = charge_params({"meter": "calls", "model": "per_unit", "unit_amount": stored})
        assert MODELS["per_unit"].rate(params, Usage(Decimal(100))).amount == Decimal(amount)
