"""The events customers are told about: for each, its template, whether the law requires it
(then it goes out even to a customer who opted out of notifications), what it attaches, and
the values its template reads, taken from the event's ``data`` (``api_spec/events.yaml``).

Values are strings already formatted for the customer's locale (``formatting``); a value a
template shows only sometimes is ``""`` when absent (its lines start with ``?name``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from billing.notifications.formatting import day, days, money
from billing.notifications.model import Locale

Values = dict[str, str]
Data = Mapping[str, Any]


@dataclass(frozen=True)
class Links:
    """Where the customer pays: the platform's hosted checkout (``PUBLIC_BASE_URL``), if set."""

    base_url: str | None = None

    def pay(self, invoice: Data) -> str:
        if not self.base_url or int(invoice.get("amount_due") or 0) <= 0:
            return ""
        return f"{self.base_url}/pay/{invoice['id']}"


def _invoice(invoice: Data, locale: Locale, links: Links) -> Values:
    currency = str(invoice["currency"])
    return {
        "number": str(invoice.get("number") or invoice["id"]),
        "total": money(int(invoice.get("total") or 0), currency, locale),
        "amount_due": money(int(invoice.get("amount_due") or 0), currency, locale),
        "due_date": day(invoice["due_date"], locale) if invoice.get("due_date") else "",
        "pay_url": links.pay(invoice),
    }


def _invoice_finalized(data: Data, locale: Locale, links: Links) -> Values:
    return _invoice(data["object"], locale, links)


def _payment(data: Data, locale: Locale, links: Links) -> Values:
    payment = data["object"]
    amount = int(payment.get("amount_received") or payment["amount"])  # what arrived, else what was asked
    return {
        "amount": money(amount, str(payment["currency"]), locale),
        "paid_at": day(payment.get("paid_at") or payment["created_at"], locale),
        "failure": str(payment.get("failure_message") or payment.get("failure_code") or ""),
    }


def _tariff_change(data: Data, locale: Locale, links: Links) -> Values:
    subscription = data["object"]
    change = subscription.get("pending_change") or {}
    return {
        "plan": str(subscription.get("plan_code") or subscription.get("plan") or ""),
        "effective_date": day(change["effective_at"], locale) if change.get("effective_at") else "",
    }


def _reminder(data: Data, locale: Locale, links: Links) -> Values:
    after = int(data["days_after_due"])
    return {
        **_invoice(data["object"], locale, links),
        "before": days(-after, locale) if after < 0 else "",
        "today": "yes" if after == 0 else "",
        "after": days(after, locale) if after > 0 else "",
    }


def _late_fee(data: Data, locale: Locale, links: Links) -> Values:
    item = data["object"]
    return {
        "fee": money(int(item["amount"]), str(item["currency"]), locale),
        "description": str(item.get("description") or ""),
    }


def _final_notice(data: Data, locale: Locale, links: Links) -> Values:
    debt, currency = data["debt"], str(data["debt"]["currency"])
    values = _invoice(data["object"], locale, links)
    return {
        **values,
        **{part: money(int(debt.get(part) or 0), currency, locale)
           for part in ("principal", "late_fees", "penalty_interest", "total")},
        "pay_url": str(data.get("checkout_url") or values["pay_url"]),
    }  # fmt: skip


def _access(data: Data, locale: Locale, links: Links) -> Values:
    access = data["object"]
    return {
        "since": day(access["since"], locale) if access.get("since") else "",
        "reason": str(access.get("reason") or ""),
    }


def _balance_low(data: Data, locale: Locale, links: Links) -> Values:
    currency = str(data["currency"])
    return {
        "balance": money(int(data["balance"]), currency, locale),
        "threshold": money(int(data["threshold"]), currency, locale),
    }


@dataclass(frozen=True)
class Kind:
    template: str
    values: Callable[[Data, Locale, Links], Values]
    legal: bool = False  # required by law: sent even to a customer who opted out
    attach: Literal["invoice", "document"] | None = None  # the invoice's PDF, or the event's document

    def customer(self, data: Data) -> str:
        """The customer the event concerns: ``data.customer``, else its object's."""
        return str(data.get("customer") or data["object"]["customer"])

    def document(self, data: Data) -> str | None:
        """The key of the event's document in the documents bucket (the debtor notice)."""
        key = data.get("document")
        return str(key) if key else None


KINDS: dict[str, Kind] = {
    "InvoiceFinalized": Kind("invoice_finalized", _invoice_finalized, attach="invoice"),
    "PaymentSucceeded": Kind("payment_succeeded", _payment),
    "PaymentFailed": Kind("payment_failed", _payment),
    "TariffChangeScheduled": Kind("tariff_change_scheduled", _tariff_change),
    "InvoiceReminder": Kind("invoice_reminder", _reminder),
    "LateFeeCharged": Kind("late_fee_charged", _late_fee),
    "InvoiceFinalNotice": Kind("invoice_final_notice", _final_notice, legal=True, attach="document"),
    "CustomerSuspended": Kind("customer_suspended", _access, legal=True),
    "CustomerReinstated": Kind("customer_reinstated", _access),
    "CustomerBalanceLow": Kind("customer_balance_low", _balance_low),
}
"""Event type -> how its customer is told (the bus rule of ``template.yaml`` lists these types)."""
