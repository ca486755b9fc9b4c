"""Payments in the billing table.

- payment: ``PK={scope}#PAY#{id}``, ``SK=PAY``; GSI1 ``{scope}#PAY`` lists them, GSI2
  ``{scope}#PAY#CUS#{customer}`` by customer, GSI3 ``{scope}#PAY#INV#{invoice}`` by the invoice
  it was made for (else the first it paid). ``status``, ``customer`` and ``provider`` are
  attributes of the item (lists filter on them); the payment, allocations included, is one
  compressed ``body`` in the adapter's own shape (``PAYMENT``).
- Recording a payment writes it (``attribute_not_exists``, or, for a provider's payment that
  changes, at the ``rev`` it was read at) with each invoice it pays (still at the revision it
  was read at), its journal entries (``ledger.py``) and one outbox record, in one transaction;
  a customer without a currency takes the payment's in it (``customers.takes_currency``).
- provider reference: ``PK={scope}#PAYREF#{provider}#{h(reference)}``, ``SK=PAYREF``: the
  payment a provider's checkout (``cs_...``, an order) or money movement (``pi_...``) belongs
  to, written with the payment, so a webhook naming either finds it with two ``GetItem``s.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from billing.adapters.dynamodb import customers, invoices, ledger, outbox, table
from billing.adapters.dynamodb.shapes import Shape, pack, unpack
from billing.errors import Conflict, DomainRuleViolation
from billing.events import DomainEvent
from billing.invoicing.model import Invoice
from billing.ledger import JournalEntry
from billing.pagination import Page
from billing.payments.model import OFFLINE, Allocation, Payment, PaymentQuery
from billing.scope import Scope

ALLOCATION = Shape(Allocation, {"inv": "invoice", "sp": "supplier", "a": "amount"})
PAYMENT = Shape(
    Payment,
    {
        "id": "id", "lm": "livemode", "inv": "invoice", "m": "method", "ch": "channel", "a": "amount",
        "ar": "amount_received", "cur": "currency", "ref": "provider_reference", "al": "allocations",
        "cr": "credited", "rf": "amount_refunded", "d": "description", "md": "metadata", "pa": "paid_at",
        "ca": "created_at", "pref": "payment_reference", "chk": "checkout_session", "cu": "checkout_url",
        "sc": "save_card", "os": "off_session", "fc": "failure_code", "fm": "failure_message",
    },
    {"allocations": ALLOCATION},
)  # fmt: skip
"""The payment as stored; ``status``, ``customer``, ``provider`` and ``rev`` are attributes of the
item."""


def _key(scope: Scope, payment_id: str) -> dict[str, str]:
    return {"PK": f"{scope.key}#PAY#{payment_id}", "SK": "PAY"}


def reference_key(scope: Scope, provider: str, reference: str) -> dict[str, str]:
    """A provider's id as a key of fixed size, whatever the provider's ids look like."""
    digest = hashlib.sha256(reference.encode()).hexdigest()[:32]
    return {"PK": f"{scope.key}#PAYREF#{provider}#{digest}", "SK": "PAYREF"}


def references(scope: Scope, payment: Payment) -> list[dict[str, Any]]:
    """``Put``s of the payment's provider reference items (the same item written again is
    harmless: a provider's id names one payment; an off-session charge's PaymentIntent is both
    references, written once)."""
    found = list(dict.fromkeys(ref for ref in (payment.provider_reference, payment.payment_reference) if ref))
    if payment.provider == OFFLINE:
        return []
    return [
        table.put({**reference_key(scope, payment.provider, ref), "entity": "payment_reference", "payment": payment.id,
                   "reference": ref})
        for ref in found
    ]  # fmt: skip


def write(scope: Scope, payment: Payment) -> dict[str, Any]:
    """The ``Put`` of ``payment``: new (``revision`` 1), or replacing the revision before its own."""
    if payment.revision == 1:
        return table.put(to_item(scope, payment), "attribute_not_exists(PK)")
    return table.put(to_item(scope, payment), "rev = :r", {":r": payment.revision - 1})


def to_item(scope: Scope, payment: Payment) -> dict[str, Any]:
    indexes = {
        "GSI1PK": f"{scope.key}#PAY",
        "GSI1SK": payment.id,
        "GSI2PK": f"{scope.key}#PAY#CUS#{payment.customer}",
        "GSI2SK": payment.id,
    }
    invoice = payment.invoice or next((a.invoice for a in payment.allocations), None)
    if invoice:
        indexes |= {"GSI3PK": f"{scope.key}#PAY#INV#{invoice}", "GSI3SK": payment.id}
    return {
        **_key(scope, payment.id),
        **indexes,
        "entity": "payment",
        "status": payment.status,
        "customer": payment.customer,
        "provider": payment.provider,
        "rev": payment.revision,
        "body": pack(PAYMENT.dump(payment)),
    }


def from_item(item: Mapping[str, Any]) -> Payment:
    return PAYMENT.load(unpack(item["body"]), status=item["status"], customer=item["customer"],
                        provider=item["provider"], revision=int(item.get("rev", 1)))  # fmt: skip


class DynamoPaymentRepository:
    def record(
        self,
        scope: Scope,
        payment: Payment,
        paid: Sequence[Invoice],
        entries: Sequence[JournalEntry],
        events: Sequence[DomainEvent],
        set_currency: bool = False,
    ) -> None:
        operations = [write(scope, payment)]
        for invoice in paid:
            item = invoices.to_item(scope, invoice)
            operations.append(table.put(item, "revision = :r", {":r": invoice.revision - 1}))
        changed = Conflict("An invoice changed while it was paid; retry.", code="concurrent_update", retryable=True)
        conflicts: dict[int, Exception] = dict.fromkeys(range(1, len(paid) + 1), changed)
        conflicts[0] = (
            Conflict(f"Payment {payment.id} is recorded already.", code="payment_exists")
            if payment.revision == 1
            else Conflict(f"Payment {payment.id} changed meanwhile; retry.", code="concurrent_update", retryable=True)
        )
        if set_currency:
            conflicts[len(operations)] = DomainRuleViolation(
                "The customer was given another currency meanwhile.", code="currency_mismatch", param="currency"
            )
            operations.append(customers.takes_currency(scope, payment.customer, payment.currency))
        posted = ledger.post_all(scope, entries) if entries else []
        operations += [*references(scope, payment), *posted, *outbox.put_events(events)]
        table.transact(operations, conflicts)

    def many(self, scope: Scope, payment_ids: Sequence[str]) -> list[Payment]:
        """The payments of ``payment_ids`` (in that order; those not found left out)."""
        if not payment_ids:
            return []
        items = table.get_many([_key(scope, payment_id) for payment_id in payment_ids])
        return [from_item(item) for item in items if item]

    def by_reference(self, scope: Scope, provider: str, reference: str) -> Payment | None:
        """The payment a provider's checkout or money movement id belongs to."""
        pointer = table.get(reference_key(scope, provider, reference))
        return self.get(scope, pointer["payment"]) if pointer else None

    def get(self, scope: Scope, payment_id: str) -> Payment | None:
        item = table.get(_key(scope, payment_id))
        return from_item(item) if item else None

    def list(self, scope: Scope, query: PaymentQuery, limit: int, starting_after: str | None) -> Page[Payment]:
        by = [
            ("GSI3", query.invoice, f"{scope.key}#PAY#INV#"),
            ("GSI2", query.customer, f"{scope.key}#PAY#CUS#"),
        ]
        index, key_value = table.list_index(by, ("GSI1", f"{scope.key}#PAY"))
        start = table.after(_key(scope, starting_after or ""), index, key_value, starting_after)
        conditions, names, values = [], {}, {}
        for name, wanted in (("status", query.status), ("provider", query.provider), ("customer", query.customer)):
            if wanted is not None and not (name == "customer" and index == "GSI2"):
                conditions.append(f"#{name} = :{name}")
                names[f"#{name}"], values[f":{name}"] = name, wanted
        filters = " AND ".join(conditions) or None
        items, cursor = table.query_pages(index, f"{index}PK", key_value, start, limit, filters, names or None,
                                          values or None)  # fmt: skip
        return Page.of((from_item(item) for item in items), cursor)
