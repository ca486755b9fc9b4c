"""A preview's context: the biller's stores, read through, with its writes kept in memory.

A preview runs the real billing code on it (Lago's preview context): the steps already due
are applied to an in-memory copy of the subscription (a period boundary the hourly run has not
reached yet), their invoices and history are seen by what follows (an invoice item one of them
bills is no longer pending for the next), and nothing is written.
"""

from __future__ import annotations

from collections.abc import Sequence

from billing.collections.invoice_items import InvoiceItem, billed_by
from billing.invoicing.biller import Outcome, PendingItems, StepWriter, SubscriptionReader
from billing.invoicing.model import Invoice
from billing.scope import Scope
from billing.subscriptions.model import HistoryEntry, Subscription


class DryRun:
    """Implements ``SubscriptionReader``, ``StepWriter`` and ``PendingItems`` over the real
    ones, in memory."""

    def __init__(self, subscriptions: SubscriptionReader, writer: StepWriter, items: PendingItems | None = None):
        self._subscriptions, self._writer, self._items = subscriptions, writer, items
        self._rows: dict[tuple[Scope, str], Subscription] = {}
        self._history: dict[tuple[Scope, str], list[HistoryEntry]] = {}
        self._invoices: dict[tuple[Scope, str], list[Invoice]] = {}

    def get(self, scope: Scope, subscription_id: str) -> Subscription | None:
        return self._rows.get((scope, subscription_id)) or self._subscriptions.get(scope, subscription_id)

    def history(self, scope: Scope, subscription_id: str) -> Sequence[HistoryEntry]:
        written = self._history.get((scope, subscription_id), [])
        return [*self._subscriptions.history(scope, subscription_id), *written]

    def apply_step(self, scope: Scope, outcome: Outcome, revision: int) -> Invoice | None:
        key, invoice = (scope, outcome.subscription.id), outcome.invoice
        self._rows[key] = outcome.subscription
        if outcome.history:
            self._history.setdefault(key, []).append(outcome.history)
        if invoice:
            self._invoices.setdefault(key, []).append(invoice)
        return invoice

    def of_subscription(self, scope: Scope, subscription_id: str) -> Sequence[Invoice]:
        written = self._invoices.get((scope, subscription_id), [])
        return [*self._writer.of_subscription(scope, subscription_id), *written]

    def pending(self, scope: Scope, customer_id: str) -> Sequence[InvoiceItem]:
        if self._items is None:
            return []
        billed = {i for (sc, _), invoices in self._invoices.items() if sc == scope for v in invoices
                  for i in billed_by(v.lines)}  # fmt: skip
        return [item for item in self._items.pending(scope, customer_id) if item.id not in billed]
