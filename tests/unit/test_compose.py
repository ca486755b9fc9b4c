"""Discounts, taxes and totals on worked examples, and the properties every invoice keeps."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from billing import ledger
from billing.catalog.tax_rates import AppliedTaxRate
from billing.invoicing.compose import Discount, compose
from billing.invoicing.lines import Line
from billing.invoicing.model import Invoice

Rate = AppliedTaxRate


def rate(rate_id: str, name: str, percent: str, inclusive: bool) -> AppliedTaxRate:
    return AppliedTaxRate(id=rate_id, name=name, percent=percent, inclusive=inclusive)


VAT = rate("txr_vat", "VAT", "20", inclusive=True)
SALES = rate("txr_sales", "Sales tax", "7.25", inclusive=False)
CITY = rate("txr_city", "City tax", "1.5", inclusive=False)


def charge(amount: int, supplier: str | None = None, kind: str = "subscription_fee") -> Line:
    return Line(id="", type=kind, description="x", amount=amount, supplier=supplier)  # type: ignore[arg-type]


def test_exclusive_taxes_are_added_per_line_and_rate() -> None:
    lines, totals = compose([charge(4900), charge(1999, kind="usage")], [], [SALES, CITY])
    # 7.25% of 4900 = 355.25 -> 355; of 1999 = 144.93 -> 145; 1.5%: 73.5 -> 74 (half to even), 29.985 -> 30
    assert [t.amount for t in lines[0].tax_amounts] == [355, 74]
    assert [t.amount for t in lines[1].tax_amounts] == [145, 30]
    assert [(line.type, line.amount) for line in lines[2:]] == [("tax", 500), ("tax", 104)]
    assert totals.subtotal == 6899 and totals.tax_total == 604 and totals.total == 7503


def test_inclusive_tax_is_contained_in_the_price() -> None:
    lines, totals = compose([charge(1200)], [], [VAT])
    assert lines[0].tax_amounts[0].amount == 200  # 1200 = 1000 + 20%
    assert totals.total == 1200 and totals.tax_total == 200
    assert lines[-1].inclusive is True


def test_discounts_apply_before_taxes_and_never_below_zero() -> None:
    coupon = Discount("WELCOME20", "20% off", percent_off="20")
    lines, totals = compose([charge(5000)], [coupon], [SALES])
    assert lines[0].discount_amount == 1000 and lines[0].tax_amounts[0].amount == 290  # 7.25% of 4000
    assert [(line.type, line.amount) for line in lines[1:]] == [("discount", -1000), ("tax", 290)]
    assert totals.total == 5000 - 1000 + 290
    big = Discount("BIG", "500.00 off", amount_off=50000)
    _, totals = compose([charge(3000), charge(1000)], [big], [SALES])
    assert totals.discount_total == 4000 and totals.total == 0


def test_an_amount_off_is_spread_in_proportion() -> None:
    lines, _ = compose(
        [charge(1000), charge(2000), charge(-500, kind="proration")], [Discount("D", "d", amount_off=100)], []
    )
    assert [line.discount_amount for line in lines[:3]] == [33, 67, 0]


def test_a_benefit_can_cover_one_supplier() -> None:
    water = Discount("household", "Household benefit 50% on water", percent_off="50", supplier="water")
    lines, totals = compose([charge(3000, "water"), charge(2000, "heat")], [water], [])
    assert [line.discount_amount for line in lines[:2]] == [1500, 0] and totals.total == 3500


def test_zero_and_three_decimal_currencies_round_to_their_minor_unit() -> None:
    # JPY: amounts are whole yen; 10% of 1,235 yen = 123.5 -> 124 (half to even)
    _, totals = compose([charge(1235)], [], [rate("t", "Consumption tax", "10", inclusive=False)])
    assert totals.tax_total == 124 and totals.total == 1359
    # BHD: amounts in fils (1/1000); 10% VAT on BHD 12.345 = 1.2345 -> 1.234 (half to even)
    _, totals = compose([charge(12345)], [], [rate("t", "VAT", "10", inclusive=False)])
    assert totals.tax_total == 1234


amounts = st.integers(-100_000, 1_000_000)
percents = st.sampled_from(["0", "5", "7.25", "19", "20"])
rates = st.lists(
    st.builds(rate, st.sampled_from(["a", "b", "c"]), st.just("r"), percents, st.booleans()),
    max_size=3,
    unique_by=lambda r: r.id,
)
discounts = st.lists(
    st.one_of(
        st.builds(Discount, st.just("p"), st.just("p"), percent_off=st.sampled_from(["5", "12.5", "100"])),
        st.builds(Discount, st.just("a"), st.just("a"), amount_off=st.integers(0, 200_000)),
    ),
    max_size=2,
)


@given(amounts=st.lists(amounts, min_size=1, max_size=8), discounts=discounts, rates=rates)
def test_the_lines_add_up_to_the_total(
    amounts: list[int], discounts: list[Discount], rates: list[AppliedTaxRate]
) -> None:
    lines, totals = compose([charge(a) for a in amounts], discounts, rates)
    assert totals.total == sum(line.amount for line in lines if not (line.type == "tax" and line.inclusive))
    assert totals.subtotal == sum(amounts)
    charges = [line for line in lines if line.is_charge]
    assert totals.discount_total == -sum(line.amount for line in lines if line.type == "discount")
    assert totals.tax_total == sum(t.amount for line in charges for t in line.tax_amounts)
    for line in charges:  # an amount discount never takes a positive line below zero
        assert line.amount <= 0 or line.net >= 0 or any(d.percent_off for d in discounts)


@given(
    amounts=st.lists(st.tuples(amounts, st.sampled_from([None, "water", "heat"])), min_size=1, max_size=8),
    discounts=discounts,
    rates=rates,
)
def test_every_invoice_posts_a_balanced_entry(
    amounts: list, discounts: list[Discount], rates: list[AppliedTaxRate]
) -> None:
    lines, totals = compose([charge(a, supplier) for a, supplier in amounts], discounts, rates)
    invoice = Invoice(id="inv_x", livemode=False, customer="cus_x", billing_reason="subscription_cycle",
                      currency="USD", period_start="a", period_end="b", created_at="c", lines=lines,
                      total=totals.total)  # fmt: skip
    entry = ledger.entry(invoice, "invoice_finalized", "c", ledger.invoice_postings(invoice))  # refuses unbalanced
    assert sum(p.debit for p in entry.postings) == sum(p.credit for p in entry.postings)
    balances = ledger.balances([entry])  # a negative total is the customer's credit, not a negative debt
    assert balances.get("receivable", 0) == max(totals.total, 0)
    assert balances.get("customer_credit", 0) == min(totals.total, 0)
    reversed_entry = ledger.entry(invoice, "invoice_voided", "d", ledger.reverse(ledger.invoice_postings(invoice)))
    assert all(v == 0 for v in ledger.balances([entry, reversed_entry]).values())
