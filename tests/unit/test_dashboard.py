"""The dashboard's pieces of the core: amounts typed by people, the search box, bar charts."""

from __future__ import annotations

import pytest

from billing.dashboard.search import target
from billing.money import parse_amount
from billing.pages.charts import AXIS, HEIGHT, TOP, bars


@pytest.mark.parametrize(
    ("typed", "currency", "minor"),
    [("15.00", "USD", 1500), ("15", "USD", 1500), ("15,5", "USD", 1550), (" 0.01 ", "USD", 1), ("1,234.5", "USD", None),
     ("²", "USD", None), ("\u0661\u0665", "USD", None),
     ("1000", "JPY", 1000), ("12.345", "BHD", 12345), ("15.001", "USD", None), ("1.5", "JPY", None),
     ("-5", "USD", None), ("1e3", "USD", None), ("", "USD", None), ("0x10", "USD", None), ("1.2.3", "USD", None)],
)  # fmt: skip
def test_amounts_are_read_exactly_in_the_currencys_minor_unit(typed: str, currency: str, minor: int | None) -> None:
    assert parse_amount(typed, currency) == minor


def test_the_search_box_opens_ids_and_finds_customers() -> None:
    assert target("cus_01jqz8v6x5k3m2n1p0r9s8t7w6") == "/dashboard/customers/cus_01jqz8v6x5k3m2n1p0r9s8t7w6"
    assert target(" inv_01jqz8v6x5k3m2n1p0r9s8t7w6 ") == "/dashboard/invoices/inv_01jqz8v6x5k3m2n1p0r9s8t7w6"
    assert target("jane@example.com") == "/dashboard/customers?email=jane%40example.com"
    assert target("cus_not-an-id") == "/dashboard/customers?external_id=cus_not-an-id"
    assert target("") == "/dashboard/customers"


def test_bars_scale_to_the_largest_and_hang_negatives_under_zero() -> None:
    chart = bars("MRR", [("Jan", 100, "1.00"), ("Feb", 200, "2.00"), ("Mar", -100, "-1.00")])
    jan, feb, mar = chart.bars
    assert abs(feb.height - 2 * jan.height) <= 1 and feb.y + feb.height == chart.baseline and feb.y == TOP
    assert mar.negative and mar.y == chart.baseline and abs(mar.height - jan.height) <= 1
    assert HEIGHT - AXIS - TOP - 1 <= feb.height + mar.height <= HEIGHT - AXIS - TOP  # lowest to highest fills it
    assert jan.x < feb.x < mar.x and all(bar.width > 0 for bar in chart.bars)
    assert bars("empty", []).bars == ()
    flat = bars("zeros", [("a", 0, "0")])
    assert flat.bars[0].height == 0 and flat.baseline == HEIGHT - AXIS  # all zero: the line at the bottom
