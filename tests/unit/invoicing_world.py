"""A whole billing world in memory: catalog, customers, subscriptions, usage (ingested and
aggregated), invoices, on one frozen clock."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from billing.catalog.lookups import CatalogLookups
from billing.catalog.service import CatalogService, create_request
from billing.collections.items import InvoiceItems
from billing.customers import CustomerCreate, CustomerService
from billing.customers.service import find_customer
from billing.invoicing.biller import SubscriptionBiller
from billing.invoicing.credit_notes import CreditNotes
from billing.invoicing.model import billed_periods
from billing.invoicing.service import InvoiceService
from billing.payments.service import Payments
from billing.scope import Scope
from billing.subscriptions.model import SubscriptionCreate
from billing.subscriptions.service import SubscriptionService
from billing.tenant_settings import TenantSettings
from billing.usage import schema
from billing.usage.aggregator import Record, UsageAggregator
from billing.usage.ingest import UsageIngest
from billing.usage.service import UsageService
from billing.usage.stamping import Directory
from billing.validation import parse
from tests.unit.clock import FrozenClock
from tests.unit.fakes import (
    MemoryAggregates,
    MemoryCatalog,
    MemoryCreditNotes,
    MemoryCustomers,
    MemoryInvoiceItems,
    MemoryInvoices,
    MemoryPayments,
    MemorySubscriptions,
    MemoryUsageEvents,
)

SCOPE = Scope("ten_inv", livemode=False)


class Billing:
    def __init__(self, now: datetime, **settings: Any) -> None:
        self.clock = FrozenClock(now)
        self.settings = TenantSettings(**{"grace_period": 0, **settings})
        catalog_repo, self.customer_repo = MemoryCatalog(), MemoryCustomers()
        self.subscription_repo = MemorySubscriptions(catalog_repo, self.customer_repo)
        self.catalog = CatalogService(catalog_repo, self.clock)
        self.customers = CustomerService(self.customer_repo, self.clock)
        self.lookups = CatalogLookups(catalog_repo)  # one cache, as every container has
        self.subscriptions = SubscriptionService(self.subscription_repo, self.customer_repo, self.lookups, self.clock)
        self.events, self.aggregates = MemoryUsageEvents(), MemoryAggregates()
        self.invoices_repo = MemoryInvoices(self.subscription_repo)
        self.items_repo = MemoryInvoiceItems(self.invoices_repo)

        def billed(scope: Scope, subscription_id: str) -> list:
            return billed_periods(self.invoices_repo.of_subscription(scope, subscription_id))

        # no cache: the frozen clock jumps months in a moment of wall time
        directory = Directory(self.customer_repo, self.subscription_repo, self.lookups, billed, ttl_s=0)
        self.ingest = UsageIngest(self.events, directory, lambda scope: self.settings.grace, self.clock)
        self.usage = UsageService(
            self.subscriptions, self.customer_repo, self.lookups, self.aggregates, self.events, self.clock
        )
        self.biller = SubscriptionBiller(
            self.subscription_repo, self.invoices_repo, self.customer_repo, self.lookups, self.usage,
            lambda scope: self.settings, self.clock, items=self.items_repo,
        )  # fmt: skip
        self.invoice_items = InvoiceItems(
            self.items_repo, self.customer_repo.get, self.lookups,
            lambda scope, code: self.catalog.find(scope, "supplier", code) is not None,
            lambda scope: self.settings, self.biller.now,
        )  # fmt: skip
        self.invoices = InvoiceService(
            self.invoices_repo, self.biller, self.subscription_repo.get, lambda scope: self.settings
        )
        self.credit_notes = CreditNotes(
            MemoryCreditNotes(self.invoices_repo),
            self.invoices.get,
            lambda scope: self.settings,
            self.biller.now,
            self.invoices.prorated,
        )
        self.payments_repo = MemoryPayments(self.invoices_repo, self.customer_repo)
        customer_of = partial(find_customer, self.customer_repo)
        self.payments = Payments(
            self.payments_repo, self.invoices_repo, customer_of, self.invoices_repo.balances, self.biller.now,
            credit_notes=self.credit_notes,
        )  # fmt: skip
        self._aggregated = 0

    def create(self, kind: str, **body: Any) -> Any:
        return self.catalog.create(SCOPE, kind, create_request(kind, body))

    def customer(self, **body: Any) -> str:
        return self.customers.create(SCOPE, CustomerCreate.model_validate({"name": "Jane", **body})).id

    def subscribe(self, customer: str, plan: str, **body: Any) -> str:
        return self.subscriptions.create(
            SCOPE, parse(SubscriptionCreate, {"customer": customer, "plan": plan, **body})
        ).id

    def send(self, customer: str, code: str, at: datetime, txid: str, **props: Any) -> None:
        """Send an event happening at ``at``; time moves on to ``at`` if it is later."""
        self.clock.at = max(self.clock.at, at)
        stamp = at.strftime("%Y-%m-%dT%H:%M:%SZ")
        body = {"transaction_id": txid, "customer": customer, "code": code, "timestamp": stamp, "properties": props}
        result = self.ingest.ingest(SCOPE, schema.read_all([body]))
        assert not result.rejected, result.rejected
        self.aggregate()

    def aggregate(self) -> None:
        """What the stream aggregator does with the events stored since the last call."""
        fresh = self.events.stream[self._aggregated :]
        UsageAggregator(self.aggregates).apply("stream", [Record(seq, scope, e) for seq, scope, e in fresh])
        self._aggregated = len(self.events.stream)

    def advance(self, **delta: float) -> None:
        self.clock.advance(**delta)

    def at(self, moment: datetime) -> None:
        self.clock.at = moment

    def bill(self, subscription: str, finalize: bool = True) -> list[Any]:
        """Bill up to now, and finalize what is due (grace 0: everything)."""
        drafts = self.biller.bill(SCOPE, subscription, self.clock.now())
        if not finalize:
            return drafts
        return [
            self.invoices.finalize_if_due(SCOPE, d.id, self.clock.now()) or self.invoices.get(SCOPE, d.id)
            for d in drafts
        ]

    def amounts(self, invoice: Any) -> list[tuple[str, int]]:
        return [(line.type, line.amount) for line in invoice.lines]


def rng_events(seed: int, n: int) -> list[tuple[int, int]]:
    rng = random.Random(seed)
    return [(rng.randint(1, 100), rng.randint(0, 20 * 24 * 60)) for _ in range(n)]


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)
