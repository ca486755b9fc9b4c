"""Invoice PDFs: rendered with fpdf2, read back with pypdf; and money as it is printed."""

from __future__ import annotations

import io
from typing import Any

import pytest
from pypdf import PdfReader

from billing.invoicing.lines import Line, TaxAmount
from billing.invoicing.model import Invoice
from billing.invoicing.pdf import Seller, render_invoice
from billing.money import format_amount, format_unit_price

SELLER = Seller(
    name="Acme Cloud Ltd",
    address=["1 Harbour Street", "Dublin D02 XY45", "Ireland"],
    tax_id="IE1234567T",
    email="billing@acme.example",
)
URL = "https://pay.acme.example/i/inv_123"


def _invoice(**changes: Any) -> Invoice:
    fields: dict[str, Any] = {
        "id": "inv_123",
        "livemode": False,
        "customer": "cus_1",
        "number": "ACME-0042",
        "status": "open",
        "billing_reason": "subscription_cycle",
        "currency": "USD",
        "period_start": "2026-03-01T00:00:00Z",
        "period_end": "2026-04-01T00:00:00Z",
        "created_at": "2026-04-01T00:00:00Z",
        "issued_at": "2026-04-01T01:00:00Z",
        "due_date": "2026-04-15T00:00:00Z",
        "lines": [
            Line(
                id="il_1",
                type="subscription_fee",
                description="Pro plan",
                amount=4900,
                quantity="1",
                unit_amount="4900",
                tax_amounts=[TaxAmount(tax_rate="txr_1", name="VAT", percent="23", inclusive=False, amount=1012)],
            ),
            Line(
                id="il_2",
                type="usage",
                description="API calls",
                amount=2469,
                quantity="12345",
                unit_amount="0.2",
                period_start="2026-02-01T00:00:00Z",
                period_end="2026-03-01T00:00:00Z",
            ),
            Line(id="il_3", type="discount", description="Launch 10% off", amount=-737, discount="di_1"),
            Line(id="il_4", type="tax", description="VAT (23%)", amount=1526, tax_rate="txr_1", inclusive=False),
        ],
        "subtotal": 7369,
        "discount_total": 737,
        "tax_total": 1526,
        "total": 8158,
        "amount_paid": 1000,
        "amount_credited": 500,
        "amount_due": 6658,
        "customer_details": {
            "name": "Globex Corporation",
            "email": "ap@globex.example",
            "external_id": "GLX-77",
            "address": {"line1": "42 Main St", "city": "Springfield", "postal_code": "49007", "country": "US"},
        },
    }
    fields.update(changes)
    return Invoice(**fields)


def _text(data: bytes) -> tuple[str, int]:
    assert data.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages), len(reader.pages)


def test_an_open_invoice_shows_parties_lines_and_totals() -> None:
    invoice = _invoice()
    text, pages = _text(render_invoice(invoice, SELLER, payment_url=URL))
    assert pages == 1
    for expected in [
        "Acme Cloud Ltd",
        "1 Harbour Street",
        "IE1234567T",
        "billing@acme.example",
        "Invoice ACME-0042",
        "Globex Corporation",
        "ap@globex.example",
        "Springfield",
        "GLX-77",
        "Pro plan",
        "API calls",
        "Launch 10% off",
        "VAT (23%)",
        "12345",
        "USD 49.00",
        "USD 0.002",
        "2026-04-01",
        "2026-04-15",
        "2026-03-01",
        "half_even",
        "Subtotal",
        "Discounts",
        "Tax",
        "Total",
        "Amount paid",
        "Amount credited",
        "Amount due",
        f"Pay online: {URL}",
    ]:
        assert expected in text, expected
    for line in invoice.lines:
        assert format_amount(line.amount, "USD") in text
    for amount in (7369, -737, 1526, 8158, 1000, 500, 6658):
        assert format_amount(amount, "USD") in text
    assert "T00:00:00" not in text
    assert "DRAFT" not in text


def test_the_payment_url_is_a_link_and_only_while_something_is_due() -> None:
    reader = PdfReader(io.BytesIO(render_invoice(_invoice(), SELLER, payment_url=URL)))
    links = [annot.get_object()["/A"]["/URI"] for annot in reader.pages[0]["/Annots"]]
    assert links == [URL]
    text, _ = _text(render_invoice(_invoice(amount_due=0, amount_paid=7658), SELLER, payment_url=URL))
    assert "Pay online" not in text


def test_customer_credit_applied_and_left_is_shown() -> None:
    paid_by_credit = _invoice(amount_paid=0, amount_credited=0, applied_balance=8158, amount_due=0,
                              starting_balance=-10000, ending_balance=-1842)  # fmt: skip
    text, _ = _text(render_invoice(paid_by_credit, SELLER, payment_url=URL))
    assert "Customer credit applied" in text and format_amount(-8158, "USD") in text
    assert "Customer credit remaining" in text and format_amount(1842, "USD") in text
    assert "Pay online" not in text
    text, _ = _text(render_invoice(_invoice(), SELLER))
    assert "Customer credit" not in text


def test_a_line_shows_its_period_when_it_differs_from_the_invoice() -> None:
    text, _ = _text(render_invoice(_invoice(), SELLER))
    assert "2026-02-01" in text


def test_inclusive_taxes_are_marked_included() -> None:
    tax = Line(id="il_9", type="tax", description="GST (10%)", amount=445, tax_rate="txr_2", inclusive=True)
    text, _ = _text(render_invoice(_invoice(lines=[tax]), SELLER))
    assert "GST (10%) (included)" in text
    assert "of which included in prices" in text


def test_a_draft_says_draft_and_has_no_number() -> None:
    text, _ = _text(render_invoice(_invoice(status="draft", number=None, issued_at=None), SELLER))
    assert "DRAFT" in text
    assert "ACME-0042" not in text


def test_a_void_invoice_says_void() -> None:
    text, _ = _text(render_invoice(_invoice(status="void"), SELLER))
    assert "VOID" in text
    assert "ACME-0042" in text


@pytest.mark.parametrize(
    ("currency", "amount", "expected"),
    [("JPY", 1235, "JPY 1,235"), ("BHD", 12345, "BHD 12.345")],
)
def test_zero_and_three_decimal_currencies(currency: str, amount: int, expected: str) -> None:
    line = Line(id="il_1", type="usage", description="Calls", amount=amount, quantity="1", unit_amount=str(amount))
    invoice = _invoice(
        currency=currency,
        lines=[line],
        subtotal=amount,
        discount_total=0,
        tax_total=0,
        total=amount,
        amount_paid=0,
        amount_credited=0,
        amount_due=amount,
    )
    text, _ = _text(render_invoice(invoice, SELLER))
    assert expected in text
    assert format_amount(0, currency) in text


def test_many_lines_flow_onto_more_pages_with_the_header_repeated() -> None:
    lines = [
        Line(
            id=f"il_{i}",
            type="usage",
            description=f"Meter number {i:03d}",
            amount=100 * i,
            quantity=str(i),
            unit_amount="100",
        )
        for i in range(1, 121)
    ]
    data = render_invoice(_invoice(lines=lines), SELLER, payment_url=URL)
    text, pages = _text(data)
    assert pages > 1
    for i in range(1, 121):
        assert f"Meter number {i:03d}" in text
    reader = PdfReader(io.BytesIO(data))
    assert all("Unit price" in page.extract_text() for page in reader.pages[:-1])
    assert f"page {pages} of {pages}" in text


def test_cyrillic_and_other_scripts_print_and_nothing_crashes() -> None:
    details = {"name": "Иван Петров 王小明", "address": {"city": "Brașov", "country": "PL"}}
    line = Line(
        id="il_1", type="add_on", description="Лицевой счёт € \u2013 \u201cpremium\u201d \U0001f600", amount=100
    )
    text, _ = _text(render_invoice(_invoice(customer_details=details, lines=[line]), SELLER))
    assert "Иван Петров" in text and "Brașov" in text
    assert "Лицевой счёт €" in text


def test_rendering_is_deterministic() -> None:
    assert render_invoice(_invoice(), SELLER, URL) == render_invoice(_invoice(), SELLER, URL)


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        (123456, "USD", "USD 1,234.56"),
        (1235, "JPY", "JPY 1,235"),
        (12345, "BHD", "BHD 12.345"),
        (-980, "USD", "-USD 9.80"),
        (0, "USD", "USD 0.00"),
        (5, "USD", "USD 0.05"),
        (123456789, "JPY", "JPY 123,456,789"),
        (10**30 + 1, "USD", "USD 10,000,000,000,000,000,000,000,000,000.01"),
    ],
)
def test_format_amount(amount: int, currency: str, expected: str) -> None:
    assert format_amount(amount, currency) == expected


@pytest.mark.parametrize(
    ("unit", "currency", "expected"),
    [
        ("0.2", "USD", "USD 0.002"),
        ("4900", "USD", "USD 49.00"),
        ("0.00025", "USD", "USD 0.0000025"),
        ("123456.5", "USD", "USD 1,234.565"),
        ("0.0000001", "USD", "USD 0.00"),  # beyond six decimals past the exponent
        ("-12", "USD", "-USD 0.12"),
        ("1500", "JPY", "JPY 1,500"),
        ("0.25", "JPY", "JPY 0.25"),
        ("1", "BHD", "BHD 0.001"),
        ("1.5", "BHD", "BHD 0.0015"),
    ],
)
def test_format_unit_price(unit: str, currency: str, expected: str) -> None:
    assert format_unit_price(unit, currency) == expected
