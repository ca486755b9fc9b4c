"""Collections use cases: a tenant's dunning policy per mode, and a customer's debt as of its
clock (its test clock's time, or now)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Protocol

from billing.collections.debt import Debt, debt_of
from billing.collections.invoice_items import InvoiceItem
from billing.collections.policy import DunningPolicy, DunningPolicyUpdate
from billing.customers import Customer
from billing.errors import NotFound
from billing.invoicing.model import Invoice
from billing.scope import Scope


class PolicyStore(Protocol):
    def get(self, scope: Scope) -> DunningPolicy | None: ...

    def save(self, scope: Scope, policy: DunningPolicy) -> None: ...


class DunningPolicies:
    def __init__(self, store: PolicyStore):
        self._store = store

    def get(self, scope: Scope) -> DunningPolicy:
        """The mode's policy; an empty one (no steps, no interest) until one is stored."""
        return self._store.get(scope) or DunningPolicy()

    def replace(self, scope: Scope, update: DunningPolicyUpdate) -> DunningPolicy:
        policy = DunningPolicy.of(update)
        self._store.save(scope, policy)
        return policy


class Debts:
    def __init__(
        self,
        customer_of: Callable[[Scope, str], Customer | None],
        open_invoices: Callable[[Scope, str], Sequence[Invoice]],
        items_of: Callable[[Scope, str], Sequence[InvoiceItem]],
        policy: Callable[[Scope], DunningPolicy],
        now: Callable[[Scope, str | None], datetime],
    ):
        self._customer_of, self._open, self._items = customer_of, open_invoices, items_of
        self._policy, self._now = policy, now

    def of(self, scope: Scope, customer_id: str, as_of: date | None = None) -> Debt:
        """``GET /v1/customers/{id}/debt``: the customer's debt on its clock's UTC date (or on
        ``as_of``: a final notice's day)."""
        customer = self._customer_of(scope, customer_id)
        if customer is None:
            raise NotFound(f"No such customer: '{customer_id}'", param="id")
        invoices = self._open(scope, customer.id)
        currency = customer.currency or next((i.currency for i in invoices), None)
        as_of = as_of or self._now(scope, customer.test_clock).date()
        terms = self._policy(scope).penalty_interest
        return debt_of(invoices, self._items(scope, customer.id), terms, as_of, currency)
