"""The dashboard's forms read into the API's own input models, so an action refused on a page is
refused exactly as the API refuses it, naming the field. Amounts are typed as people write
them (``15.00``) and read exactly in the currency's minor unit (``billing.money.parse_amount``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from billing.currency import is_currency
from billing.errors import InvalidRequest
from billing.invoicing.credit_notes import CreditNoteCreate
from billing.money import parse_amount
from billing.payments.model import PaymentCreate
from billing.validation import parse


def _given(fields: Mapping[str, str], *names: str) -> dict[str, Any]:
    return {name: fields[name] for name in names if fields.get(name, "").strip()}


def amount(fields: Mapping[str, str], currency: str) -> int:
    minor = parse_amount(fields.get("amount", ""), currency)
    if minor is None:
        raise InvalidRequest(f"amount must be a positive amount in {currency}, e.g. 15.00.", param="amount")
    return minor


def offline_payment(customer: str, fields: Mapping[str, str]) -> PaymentCreate:
    """``POST /v1/payments``' body from the customer page's "record a payment" form (its
    currency field shows the customer's currency, and is asked for when it has none yet)."""
    currency = fields.get("currency", "").strip().upper()
    if not is_currency(currency):
        raise InvalidRequest("currency must be an ISO 4217 code, e.g. USD.", param="currency")
    body = {"customer": customer, "currency": currency, "amount": amount(fields, currency),
            **_given(fields, "channel", "invoice", "reference", "description")}  # fmt: skip
    return parse(PaymentCreate, body)


def credit_note(invoice: str, fields: Mapping[str, str]) -> CreditNoteCreate:
    """``POST /v1/credit_notes``' body from the invoice page's form: the whole invoice, for a
    reason, with a memo."""
    return parse(CreditNoteCreate, {"invoice": invoice, **_given(fields, "reason", "memo")})
