"""Invoice item use cases: create one (pending, or billed at once on an invoice of its own),
read them.

An item billed at once (``invoice_now``) gets a ``manual`` invoice of its own, finalized in the
very write that creates the item (numbered, posted to the ledger, ``InvoiceCreated`` and
``InvoiceFinalized``), on the customer's clock: its period is that moment, its due date the
tenant's payment terms, its taxes the customer's (``billing.invoicing.adjustments``), no
discounts (they belong to subscriptions). Nothing can bill it again: it is written billed.

A customer without a currency takes the item's (as with its first subscription or payment), so
an item never waits for an invoice in a currency the customer will not be billed in.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

from billing.catalog.lookups import CatalogLookups
from billing.clock import to_wire
from billing.collections.invoice_items import ITEM_PREFIX, InvoiceItem, InvoiceItemCreate, ItemQuery, Kind
from billing.customers import Customer
from billing.errors import DomainRuleViolation, InvalidRequest, NotFound
from billing.events import DomainEvent
from billing.ids import found, new_id
from billing.invoicing import adjustments
from billing.invoicing.biller import apply_lines, customer_details
from billing.invoicing.finalization import Build, Finalization
from billing.invoicing.model import Invoice, invoice_event
from billing.pagination import Page
from billing.scope import Scope
from billing.tenant_settings import TenantSettings


class ItemStore(Protocol):
    def create(self, scope: Scope, item: InvoiceItem, events: Sequence[DomainEvent], set_currency: bool) -> None:
        """The item, with a check that its customer is not archived and bills in the item's
        currency (given it when ``set_currency``: it had none), in one write."""

    def create_billed(
        self, scope: Scope, item: InvoiceItem, build: Build, events: Sequence[DomainEvent], set_currency: bool
    ) -> Invoice:
        """The same, with its own invoice finalized as ``build`` makes it."""

    def get(self, scope: Scope, item_id: str) -> InvoiceItem | None: ...

    def list(self, scope: Scope, query: ItemQuery) -> Page[InvoiceItem]: ...


class InvoiceItems:
    def __init__(
        self,
        store: ItemStore,
        customer_of: Callable[[Scope, str], Customer | None],
        catalog: CatalogLookups,
        supplier_exists: Callable[[Scope, str], bool],
        settings: Callable[[Scope], TenantSettings],
        now: Callable[[Scope, str | None], datetime],
    ):
        self._store, self._customer_of, self._catalog = store, customer_of, catalog
        self._supplier_exists, self._settings, self._now = supplier_exists, settings, now

    def get(self, scope: Scope, item_id: str) -> InvoiceItem:
        return found(lambda object_id: self._store.get(scope, object_id), item_id, ITEM_PREFIX, "invoice item")

    def list(self, scope: Scope, query: ItemQuery) -> Page[InvoiceItem]:
        return self._store.list(scope, query)

    def create(
        self, scope: Scope, request: InvoiceItemCreate, kind: Kind = "adjustment", source_invoice: str | None = None
    ) -> InvoiceItem:
        """A pending item, or one billed at once (``invoice_now``). ``kind`` and
        ``source_invoice`` are dunning's (late fees and interest), never the API's."""
        customer = self._customer(scope, request)
        if request.supplier and not self._supplier_exists(scope, request.supplier):
            raise InvalidRequest(f"No such supplier: '{request.supplier}'.", param="supplier")
        at = to_wire(self._now(scope, customer.test_clock))
        item = InvoiceItem(
            id=new_id(ITEM_PREFIX), livemode=scope.livemode, customer=customer.id, amount=request.amount,
            currency=request.currency, description=request.description, supplier=request.supplier, kind=kind,
            source_invoice=source_invoice, created_at=at,
        )  # fmt: skip
        set_currency = customer.currency is None
        if not request.invoice_now:
            self._store.create(scope, item, [_event(scope, item)], set_currency)
            return item
        billed, build, created = self.billed_at_once(scope, customer, item, at)
        self._store.create_billed(scope, billed, build, [_event(scope, billed), created], set_currency)
        return billed

    def billed_at_once(
        self, scope: Scope, customer: Customer, item: InvoiceItem, at: str
    ) -> tuple[InvoiceItem, Build, DomainEvent]:
        """``item`` naming the invoice of its own that bills it, how that invoice is finalized
        in the item's write, and its ``InvoiceCreated``."""
        draft = self._invoice_of(scope, customer, item, at)
        billed = item.model_copy(update={"invoice": draft.id})
        build = Finalization(scope, draft, self._settings(scope), at).build
        return billed, build, invoice_event("InvoiceCreated", scope, draft, at)

    def _invoice_of(self, scope: Scope, customer: Customer, item: InvoiceItem, at: str) -> Invoice:
        """The draft of an invoice of ``item``'s own, issued ``at`` (finalized in its write)."""
        rates = adjustments.tax_rates(self._catalog, scope, customer)
        invoice = Invoice(
            id=new_id("inv"), livemode=scope.livemode, customer=customer.id, billing_reason="manual",
            currency=item.currency, period_start=at, period_end=at, created_at=at, finalize_at=at,
            customer_details=customer_details(customer), tax_rates=rates, test_clock=customer.test_clock,
        )  # fmt: skip
        return apply_lines(invoice, [item.line((at, at))])

    def _customer(self, scope: Scope, request: InvoiceItemCreate) -> Customer:
        customer = self._customer_of(scope, request.customer)
        if customer is None:
            raise NotFound(f"No such customer: '{request.customer}'", param="customer")
        if customer.status == "archived":
            raise DomainRuleViolation(
                f"Customer {customer.id} is archived.", code="customer_archived", param="customer"
            )
        if customer.currency and customer.currency != request.currency:
            raise DomainRuleViolation(
                f"Customer {customer.id} is billed in {customer.currency}, not {request.currency}.",
                code="currency_mismatch", param="currency",
            )  # fmt: skip
        return customer


def _event(scope: Scope, item: InvoiceItem) -> DomainEvent:
    return DomainEvent(
        type="InvoiceItemCreated", scope=scope, occurred_at=datetime.fromisoformat(item.created_at),
        data={"object": item.to_public()},
    )  # fmt: skip
