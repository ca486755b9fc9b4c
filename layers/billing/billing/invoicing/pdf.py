"""An invoice as a PDF document (A4), rendered in pure Python with fpdf2.

The page shows who bills whom, the invoice's dates and currency, one table row per charge
line (the header repeated on every page the table flows onto), the discount and tax lines,
the totals down to the amount due, the rounding rule, and a "Pay online" link while something
is due. A draft says DRAFT instead of a number (it has none yet); a void invoice says VOID.
Rendering is deterministic: the document's creation date is the invoice's ``created_at``.

Font: DejaVu Sans (``fonts/``, with its licence), embedded as a subset of the glyphs used:
it covers Latin, Greek and Cyrillic (customers' names and addresses, "лицевой счёт"), and
signs such as "€". A character it lacks prints as a blank box; rendering never fails.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from fpdf import FPDF
from fpdf.fonts import FontFace

from billing.invoicing.lines import Line
from billing.invoicing.model import Invoice
from billing.money import format_amount, format_unit_price

FONTS = Path(__file__).with_name("fonts")
FONT = "DejaVu"
HALF = 88.0  # mm: a half-page column (A4 between 15 mm margins is 180 mm wide)
COLUMNS = (86.0, 24.0, 38.0, 32.0)  # description, quantity, unit price, amount
HEADINGS = ("Description", "Quantity", "Unit price", "Amount")


@dataclass(frozen=True)
class Seller:
    """Who issues the invoice, as printed in its letterhead."""

    name: str
    address: list[str]
    tax_id: str | None = None
    email: str | None = None


def render_invoice(invoice: Invoice, seller: Seller, payment_url: str | None = None) -> bytes:
    """The invoice as PDF bytes; ``payment_url`` is shown (and linked) while an amount is due."""
    pdf = _Document(invoice)
    pdf.add_page()
    _letterhead(pdf, seller)
    _title(pdf, invoice)
    _parties(pdf, invoice)
    _lines(pdf, invoice)
    _totals(pdf, invoice)
    if payment_url and invoice.amount_due > 0:
        pdf.set_font(FONT, "B", 10)
        pdf.set_text_color(0, 0, 160)
        pdf.multi_cell(0, 6, f"Pay online: {payment_url}", link=payment_url, new_x="LMARGIN")
        pdf.set_text_color(0)
    return bytes(pdf.output())


class _Document(FPDF):
    """A4 in millimetres, with a footer naming the invoice and the page."""

    def __init__(self, invoice: Invoice) -> None:
        super().__init__(format="A4", unit="mm")
        self.add_font(FONT, "", FONTS / "DejaVuSans.ttf")
        self.add_font(FONT, "B", FONTS / "DejaVuSans-Bold.ttf")
        self.invoice_label = f"Invoice {_label(invoice)}"
        self.set_margins(15, 15, 15)
        self.set_auto_page_break(True, margin=18)
        self.set_title(self.invoice_label)
        self.set_creation_date(datetime.fromisoformat(invoice.created_at.replace("Z", "+00:00")))

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT, "", 8)
        self.set_text_color(110)
        self.cell(0, 5, f"{self.invoice_label} - page {self.page_no()} of {{nb}}", align="C")
        self.set_text_color(0)


def _label(invoice: Invoice) -> str:
    if invoice.status == "draft" or not invoice.number:
        return "DRAFT"
    return f"{invoice.number} (VOID)" if invoice.status == "void" else invoice.number


def _day(value: str | None) -> str:
    """An ISO timestamp ("2026-03-01T00:00:00Z") as its date ("2026-03-01")."""
    return value[:10] if value else "-"


def _period(start: str | None, end: str | None) -> str:
    return f"{_day(start)} \u2013 {_day(end)}"


def _block(pdf: FPDF, x: float, y: float, heading: str, rows: list[str]) -> float:
    """A bold heading and lines of text at (x, y) in a half-page column; returns where it ends."""
    pdf.set_xy(x, y)
    pdf.set_font(FONT, "B", 10)
    pdf.multi_cell(HALF, 5, heading, new_x="LEFT")
    pdf.set_font(FONT, "", 9)
    for row in rows:
        pdf.multi_cell(HALF, 4.5, row, new_x="LEFT")
    return pdf.get_y()


def _letterhead(pdf: FPDF, seller: Seller) -> None:
    rows = [*seller.address]
    rows += [f"Tax ID: {seller.tax_id}"] if seller.tax_id else []
    rows += [seller.email] if seller.email else []
    pdf.set_font(FONT, "B", 14)
    pdf.multi_cell(0, 7, seller.name, new_x="LMARGIN")
    pdf.set_font(FONT, "", 9)
    for row in rows:
        pdf.multi_cell(0, 4.5, row, new_x="LMARGIN")
    pdf.ln(6)


def _title(pdf: FPDF, invoice: Invoice) -> None:
    pdf.set_font(FONT, "B", 20)
    pdf.cell(0, 10, "Invoice" if invoice.status == "draft" else f"Invoice {invoice.number or ''}")
    if invoice.status in ("draft", "void"):
        pdf.set_text_color(200, 0, 0)
        pdf.set_x(pdf.l_margin)
        pdf.cell(0, 10, invoice.status.upper(), align="R")
        pdf.set_text_color(0)
    pdf.ln(14)


def _parties(pdf: FPDF, invoice: Invoice) -> None:
    customer = invoice.customer_details
    address: dict[str, Any] = customer.get("address") or {}
    town = " ".join(str(address[key]) for key in ("postal_code", "city") if address.get(key))
    rows = [customer.get("email"), address.get("line1"), address.get("line2"), town, address.get("region")]
    rows += [address.get("country"), customer.get("external_id") and f"Customer ID: {customer['external_id']}"]
    y = pdf.get_y()
    left = _block(pdf, pdf.l_margin, y, str(customer.get("name") or invoice.customer), [str(r) for r in rows if r])
    details = [
        f"Issued: {_day(invoice.issued_at)}",
        f"Due: {_day(invoice.due_date)}",
        f"Service period: {_period(invoice.period_start, invoice.period_end)}",
        f"Currency: {invoice.currency}",
    ]
    right = _block(pdf, pdf.l_margin + pdf.epw - HALF, y, "Details", details)
    pdf.set_xy(pdf.l_margin, max(left, right) + 8)


def _row(invoice: Invoice, line: Line) -> tuple[str, str, str, str]:
    text = line.description
    if (line.period_start, line.period_end) not in ((None, None), (invoice.period_start, invoice.period_end)):
        text += f"\n{_period(line.period_start, line.period_end)}"
    if line.type == "tax" and line.inclusive:
        text += " (included)"
    unit = format_unit_price(line.unit_amount, invoice.currency) if line.unit_amount is not None else ""
    return text, line.quantity or "", unit, format_amount(line.amount, invoice.currency)


def _lines(pdf: FPDF, invoice: Invoice) -> None:
    charges = [line for line in invoice.lines if line.is_charge]
    others = [line for line in invoice.lines if line.type in ("discount", "tax")]
    pdf.set_font(FONT, "", 9)
    heading = FontFace(emphasis="BOLD", fill_color=(230, 230, 230))
    align = ("LEFT", "RIGHT", "RIGHT", "RIGHT")
    layout = "HORIZONTAL_LINES"
    with pdf.table(col_widths=COLUMNS, text_align=align, headings_style=heading, borders_layout=layout) as table:
        table.row(HEADINGS)
        for line in charges + others:
            table.row(_row(invoice, line))
    pdf.ln(4)


def _totals(pdf: FPDF, invoice: Invoice) -> None:
    inclusive = sum(line.amount for line in invoice.lines if line.type == "tax" and line.inclusive)
    rows = [("Subtotal", invoice.subtotal), ("Discounts", -invoice.discount_total), ("Tax", invoice.tax_total)]
    rows += [("of which included in prices", inclusive)] if inclusive else []
    rows += [("Total", invoice.total)]
    rows += [("Customer credit applied", -invoice.applied_balance)] if invoice.applied_balance else []
    rows += [("Amount paid", invoice.amount_paid)]
    rows += [("Amount credited", invoice.amount_credited)] if invoice.amount_credited else []
    rows += [("Amount due", invoice.amount_due)]
    if invoice.ending_balance:  # credit left for the next invoices (a negative total adds to it)
        rows += [("Customer credit remaining", -invoice.ending_balance)]
    for label, amount in rows:
        bold = label in ("Total", "Amount due")
        pdf.set_font(FONT, "B" if bold else "", 10)
        pdf.set_x(pdf.l_margin + pdf.epw - HALF)
        pdf.cell(HALF - 40, 6, label)
        pdf.cell(40, 6, format_amount(amount, invoice.currency), align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "", 8)
    pdf.ln(3)
    rule = f"Amounts are rounded once per line to the currency's minor unit, rounding rule: {invoice.rounding}."
    pdf.multi_cell(0, 4.5, rule, new_x="LMARGIN")
    pdf.ln(3)
