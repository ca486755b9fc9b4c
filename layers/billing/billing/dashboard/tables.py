"""The dashboard's lists as tables: the columns a support person reads, each row linking to the
object's page. A table is built from the same ``Page`` the API's list returns (the same
filters, the same cursor), so the dashboard and ``GET /v1/...`` always show the same rows."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlencode

from billing.customers import Customer
from billing.invoicing.model import Invoice
from billing.money import format_amount
from billing.pagination import Page
from billing.payments.model import Payment
from billing.subscriptions.model import Subscription

T = TypeVar("T")


@dataclass(frozen=True)
class Cell:
    text: str
    href: str | None = None  # a dashboard path, e.g. /dashboard/invoices/inv_...
    numeric: bool = False  # amounts: right-aligned
    field: str | None = None  # ``data-field``, for tests and integrators


@dataclass(frozen=True)
class Table:
    kind: str  # "customers", "invoices" ...: the list's path under /dashboard
    columns: tuple[str, ...]  # keys of the pages' words
    rows: tuple[tuple[Cell, ...], ...]
    filters: tuple[tuple[str, str], ...] = ()  # (name, value) of each filter the list offers
    next_href: str | None = None  # the next page, with the same filters, if there is one


def _day(moment: str | None) -> str:
    return (moment or "")[:10]


def _money(amount: int, currency: str | None) -> Cell:
    return Cell(format_amount(amount, currency) if currency else str(amount), numeric=True)


def customer_row(customer: Customer) -> tuple[Cell, ...]:
    return (
        Cell(customer.name or customer.id, f"/dashboard/customers/{customer.id}", field="customer"),
        Cell(customer.email or ""), Cell(customer.external_id or ""), Cell(customer.status, field="status"),
        Cell(customer.created_at.date().isoformat()),
    )  # fmt: skip


def subscription_row(subscription: Subscription) -> tuple[Cell, ...]:
    return (
        Cell(subscription.id, f"/dashboard/subscriptions/{subscription.id}"),
        Cell(subscription.customer, f"/dashboard/customers/{subscription.customer}"),
        Cell(subscription.plan_code), Cell(subscription.status, field="status"),
        Cell(_day(subscription.current_period_end)),
    )  # fmt: skip


def invoice_row(invoice: Invoice) -> tuple[Cell, ...]:
    return (
        Cell(invoice.number or invoice.id, f"/dashboard/invoices/{invoice.id}", field="invoice"),
        Cell(invoice.customer, f"/dashboard/customers/{invoice.customer}"), Cell(invoice.status, field="status"),
        _money(invoice.total, invoice.currency), _money(invoice.amount_due, invoice.currency),
        Cell(_day(invoice.due_date)),
    )  # fmt: skip


def payment_row(payment: Payment) -> tuple[Cell, ...]:
    return (
        Cell(payment.id, f"/dashboard/payments/{payment.id}"),
        Cell(payment.customer, f"/dashboard/customers/{payment.customer}"),
        Cell(payment.provider), Cell(payment.status, field="status"), _money(payment.amount, payment.currency),
        Cell(_day(payment.paid_at or payment.created_at)),
    )  # fmt: skip


FILTERS = {
    "customers": ("email", "external_id", "status"),
    "subscriptions": ("customer", "plan", "status"),
    "invoices": ("customer", "status"),
    "payments": ("customer", "invoice", "status", "provider"),
}
"""The API list's filters each list page offers (the same names, read by the same query)."""
PAGING = ("limit", "starting_after")

COLUMNS = {
    "customers": ("name", "email", "external_id", "status", "created"),
    "subscriptions": ("subscription", "customer", "plan", "status", "period_end"),
    "invoices": ("invoice", "customer", "status", "total", "amount_due", "due_date"),
    "payments": ("payment", "customer", "provider", "status", "amount", "date"),
}


def params(kind: str, query: Mapping[str, str]) -> dict[str, str]:
    """The list's filters and cursor from a page's query; a field left empty filters nothing."""
    return {name: value for name, value in query.items() if value and name in (*FILTERS[kind], *PAGING)}


def table(kind: str, page: Page[T], row: Callable[[T], Sequence[Cell]], query: Mapping[str, str]) -> Table:
    """``page`` (listed with ``params(kind, query)``) as a table that pages on with the same filters."""
    filters = tuple((name, query.get(name, "")) for name in FILTERS[kind])
    given = {name: value for name, value in (*filters, ("limit", query.get("limit", ""))) if value}
    after = page.next_starting_after if page.has_more else None
    next_href = f"/dashboard/{kind}?" + urlencode({**given, "starting_after": after}) if after else None
    return Table(kind, COLUMNS[kind], tuple(tuple(row(item)) for item in page.data), filters, next_href)
