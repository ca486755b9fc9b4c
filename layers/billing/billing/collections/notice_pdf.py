"""The debtor notice (the final notice's PDF), in the customer's language (English or Russian):
who claims what from whom, the overdue principal per invoice with its due date, days overdue
and the penalty interest it accrued to the notice's date, the late fees, the total, and how to
pay (the hosted checkout link). Rendered with fpdf2 and the invoices' font (DejaVu Sans:
Cyrillic included); deterministic for a given notice date.
"""

# ruff: noqa: RUF001 - Russian is written in Cyrillic letters, which look like Latin ones
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from fpdf import FPDF

from billing.collections.debt import Debt
from billing.invoicing.pdf import FONT, FONTS, Seller
from billing.money import format_amount

COLUMNS = (40.0, 30.0, 25.0, 42.0, 43.0)  # invoice, due date, days, principal, interest

TEXT = {
    "en": {
        "title": "Final notice of debt",
        "to": "To",
        "as_of": "As of {day}, you owe us the amounts below. Please pay them without delay;"
        " otherwise we may write the debt off as uncollectible and pursue it by other means.",
        "columns": ("Invoice", "Due date", "Days overdue", "Principal", "Penalty interest"),
        "principal": "Overdue principal",
        "late_fees": "Late fees",
        "interest": "Penalty interest to date",
        "total": "Total debt",
        "pay": "Pay online: {url}",
        "footer": "Debtor notice - page {page} of {{nb}}",
    },
    "ru": {
        "title": "Уведомление о задолженности",
        "to": "Кому",
        "as_of": "По состоянию на {day} за вами числится задолженность, указанная ниже. Просим погасить"
        " её без промедления; иначе долг может быть признан безнадёжным и взыскан иным путём.",
        "columns": ("Счёт", "Срок оплаты", "Дней просрочки", "Основной долг", "Пени"),
        "principal": "Просроченный основной долг",
        "late_fees": "Штрафы за просрочку",
        "interest": "Пени на дату уведомления",
        "total": "Итого задолженность",
        "pay": "Оплатить онлайн: {url}",
        "footer": "Уведомление о задолженности - стр. {page} из {{nb}}",
    },
}


@dataclass(frozen=True)
class Debtor:
    name: str
    email: str | None
    locale: str


def render_notice(debt: Debt, debtor: Debtor, seller: Seller, as_of: date, payment_url: str | None) -> bytes:
    text = TEXT.get(debtor.locale, TEXT["en"])
    pdf = _Notice(str(text["footer"]), as_of)
    pdf.add_page()
    pdf.set_font(FONT, "B", 14)
    pdf.multi_cell(0, 7, seller.name, new_x="LMARGIN")
    pdf.set_font(FONT, "", 9)
    for row in [*seller.address, *([seller.email] if seller.email else [])]:
        pdf.multi_cell(0, 4.5, row, new_x="LMARGIN")
    pdf.ln(6)
    pdf.set_font(FONT, "B", 18)
    pdf.multi_cell(0, 9, str(text["title"]), new_x="LMARGIN")
    pdf.set_font(FONT, "", 10)
    pdf.multi_cell(0, 5, f"{text['to']}: {debtor.name}" + (f" <{debtor.email}>" if debtor.email else ""),
                   new_x="LMARGIN")  # fmt: skip
    pdf.ln(2)
    pdf.multi_cell(0, 5, str(text["as_of"]).format(day=as_of.isoformat()), new_x="LMARGIN")
    pdf.ln(4)
    currency = debt.currency or ""
    with pdf.table(col_widths=COLUMNS, text_align=("LEFT", "LEFT", "RIGHT", "RIGHT", "RIGHT")) as table:
        table.row(list(text["columns"]))
        for debt_row in debt.invoices:
            principal = format_amount(debt_row.principal, currency)
            interest = format_amount(debt_row.penalty_interest, currency)
            label = debt_row.number or debt_row.invoice
            table.row([label, debt_row.due_date[:10], str(debt_row.days_overdue), principal, interest])
    pdf.ln(4)
    for label, amount in (("principal", debt.principal), ("late_fees", debt.late_fees),
                          ("interest", debt.penalty_interest), ("total", debt.total)):  # fmt: skip
        pdf.set_font(FONT, "B" if label == "total" else "", 11 if label == "total" else 10)
        pdf.cell(120, 6, str(text[label]))
        pdf.cell(60, 6, format_amount(amount, currency), align="R", new_x="LMARGIN", new_y="NEXT")
    if payment_url and debt.total > 0:
        pdf.ln(4)
        pdf.set_font(FONT, "B", 10)
        pdf.set_text_color(0, 0, 160)
        pdf.multi_cell(0, 6, str(text["pay"]).format(url=payment_url), link=payment_url, new_x="LMARGIN")
        pdf.set_text_color(0)
    return bytes(pdf.output())


class _Notice(FPDF):
    def __init__(self, footer: str, as_of: date) -> None:
        super().__init__(format="A4", unit="mm")
        self.add_font(FONT, "", FONTS / "DejaVuSans.ttf")
        self.add_font(FONT, "B", FONTS / "DejaVuSans-Bold.ttf")
        self.footer_text = footer
        self.set_margins(15, 15, 15)
        self.set_auto_page_break(True, margin=18)
        self.set_creation_date(datetime.combine(as_of, time(), UTC))

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT, "", 8)
        self.set_text_color(110)
        self.cell(0, 5, self.footer_text.format(page=self.page_no()), align="C")
        self.set_text_color(0)
