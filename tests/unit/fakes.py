"""In-memory implementations of the core's repository protocols, for unit tests."""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from billing import ledger
from billing.customers import Customer, CustomerQuery
from billing.errors import Conflict, DomainRuleViolation
from billing.events import DomainEvent
from billing.idempotency import Claim, StoredResponse
from billing.invoicing.runs import MAX_FAILURES
from billing.pagination import Page
from billing.scope import Scope
from billing.tenant_settings import TenantSettings
from billing.tenants import ApiKey, Tenant


class MemoryTenants:
    def __init__(self) -> None:
        self.tenants: dict[str, Tenant] = {}
        self.keys: dict[str, ApiKey] = {}
        self.settings: dict[Scope, TenantSettings] = {}

    def create_tenant(self, tenant: Tenant) -> None:
        self.tenants[tenant.id] = tenant

    def get_tenant(self, tenant_id: str) -> Tenant | None:
        return self.tenants.get(tenant_id)

    def tenant_ids(self) -> list[str]:
        return sorted(self.tenants)

    def add_key(self, key: ApiKey) -> None:
        self.keys[key.digest] = key

    def key_by_digest(self, digest: str) -> ApiKey | None:
        return self.keys.get(digest)

    def key_by_id(self, tenant_id: str, key_id: str) -> ApiKey | None:
        return next((k for k in self.keys.values() if k.tenant_id == tenant_id and k.id == key_id), None)

    def revoke_key(self, key: ApiKey, at: datetime) -> None:
        self.keys[key.digest] = replace(key, revoked_at=at)

    def get_settings(self, scope: Scope) -> TenantSettings | None:
        return self.settings.get(scope)

    def save_settings(self, scope: Scope, settings: TenantSettings) -> None:
        self.settings[scope] = settings


class MemoryCustomers:
    def __init__(self) -> None:
        self.rows: dict[tuple[Scope, str], Customer] = {}
        self.events: list[DomainEvent] = []

    def _taken(self, scope: Scope, customer: Customer) -> bool:
        return any(
            key[0] == scope and other.external_id == customer.external_id and other.id != customer.id
            for key, other in self.rows.items()
        )

    def create(self, scope: Scope, customer: Customer, event: DomainEvent) -> None:
        if customer.external_id and self._taken(scope, customer):
            raise Conflict("taken", code="external_id_taken", param="external_id")
        self.rows[(scope, customer.id)] = customer
        self.events.append(event)

    def get(self, scope: Scope, customer_id: str) -> Customer | None:
        return self.rows.get((scope, customer_id))

    def find_by_external_id(self, scope: Scope, external_id: str) -> Customer | None:
        return next((c for (s, _), c in self.rows.items() if s == scope and c.external_id == external_id), None)

    def save(self, scope: Scope, customer: Customer, previous: Customer, event: DomainEvent) -> None:
        if self.rows[(scope, customer.id)].version != previous.version:
            raise Conflict("raced", code="concurrent_update")
        if customer.external_id and self._taken(scope, customer):
            raise Conflict("taken", code="external_id_taken", param="external_id")
        self.rows[(scope, customer.id)] = customer
        self.events.append(event)

    def list(self, scope: Scope, query: CustomerQuery, limit: int, starting_after: str | None) -> Page[Customer]:
        rows = sorted((c for (s, _), c in self.rows.items() if s == scope), key=lambda c: c.id, reverse=True)
        rows = [c for c in rows if starting_after is None or c.id < starting_after]
        rows = [c for c in rows if (c.status == query.status if query.status else c.status != "archived")]
        if query.email:
            rows = [c for c in rows if (c.email or "").lower() == query.email.lower()]
        if query.external_id:
            rows = [c for c in rows if c.external_id == query.external_id]
        return Page(data=rows[:limit], has_more=len(rows) > limit)


class MemoryIdempotency:
    def __init__(self) -> None:
        self.claims: dict[tuple[Scope, str], tuple[str, StoredResponse | None, datetime]] = {}

    def claim(self, scope: Scope, key: str, fingerprint: str, now: datetime, lease_until: datetime) -> Claim | None:
        existing = self.claims.get((scope, key))
        if existing and existing[2] >= now:
            return Claim(fingerprint=existing[0], response=existing[1])
        self.claims[(scope, key)] = (fingerprint, None, lease_until)
        return None

    def complete(self, scope: Scope, key: str, response: StoredResponse, expires_at: datetime) -> None:
        fingerprint = self.claims[(scope, key)][0]
        self.claims[(scope, key)] = (fingerprint, response, expires_at)

    def release(self, scope: Scope, key: str) -> None:
        self.claims.pop((scope, key), None)


class MemoryCatalog:
    """Catalog objects of every kind, by (scope, kind, id), with a code index."""

    def __init__(self) -> None:
        self.items: dict[tuple[Scope, str, str], Any] = {}
        self.codes: dict[tuple[Scope, str, str], str] = {}
        self.events: list[DomainEvent] = []
        self.reads = 0

    def create(self, scope: Scope, kind, entity, event: DomainEvent) -> None:
        code_key = (scope, kind.name, getattr(entity, "code", None))
        if kind.has_code and code_key in self.codes:
            raise Conflict("taken", code="code_taken", param="code")
        self.items[(scope, kind.name, entity.id)] = entity
        if kind.has_code:
            self.codes[code_key] = entity.id
        self.events.append(event)

    def get(self, scope: Scope, kind, object_id: str):
        self.reads += 1
        return self.items.get((scope, kind.name, object_id))

    def by_code(self, scope: Scope, kind, code: str):
        object_id = self.codes.get((scope, kind.name, code))
        return self.get(scope, kind, object_id) if object_id else None

    def list(self, scope: Scope, kind, limit: int, starting_after: str | None) -> Page:
        rows = sorted((i for (s, k, _), i in self.items.items() if s == scope and k == kind.name), key=lambda i: i.id)
        rows = [r for r in reversed(rows) if starting_after is None or r.id < starting_after]
        return Page(data=rows[:limit], has_more=len(rows) > limit)

    def replace(self, scope: Scope, kind, entity, revision: int, event: DomainEvent) -> None:
        if self.items[(scope, kind.name, entity.id)].revision != revision:
            raise Conflict("raced", code="concurrent_update", retryable=True)
        self.items[(scope, kind.name, entity.id)] = entity
        self.events.append(event)

    def supersede(self, scope: Scope, kind, new, old, revision: int, event: DomainEvent) -> None:
        self.replace(scope, kind, old, revision, event)
        self.items[(scope, kind.name, new.id)] = new
        self.codes[(scope, kind.name, new.code)] = new.id


class MemorySubscriptions:
    def __init__(self, catalog: MemoryCatalog, customers: MemoryCustomers) -> None:
        self.rows: dict[tuple[Scope, str], object] = {}
        self.histories: dict[tuple[Scope, str], list] = {}
        self.events: list[DomainEvent] = []
        self._catalog = catalog
        self._customers = customers

    def create(self, scope: Scope, new) -> None:
        subscription = new.subscription
        if new.coupon:
            key = (scope, "coupon", new.coupon.id)
            stored = self._catalog.items[key]
            if new.coupon.max_redemptions is not None and stored.times_redeemed >= new.coupon.max_redemptions:
                raise DomainRuleViolation("exhausted", code="coupon_exhausted")
            redeemed = {"times_redeemed": stored.times_redeemed + 1, "revision": stored.revision + 1}
            self._catalog.items[key] = stored.model_copy(update=redeemed)
        customer = self._customers.rows[(scope, subscription.customer)]
        if customer.status == "archived" or customer.currency not in (None, subscription.currency):
            raise Conflict("customer changed", code="concurrent_update", retryable=True)
        if new.set_customer_currency:
            self._customers.rows[(scope, subscription.customer)] = replace(customer, currency=subscription.currency)
        self.rows[(scope, subscription.id)] = subscription
        self.histories[(scope, subscription.id)] = [new.history]
        self.events.append(new.event)

    def get(self, scope: Scope, subscription_id: str):
        return self.rows.get((scope, subscription_id))

    def save(self, scope: Scope, subscription, revision: int, history, event: DomainEvent) -> None:
        if self.rows[(scope, subscription.id)].revision != revision:
            raise Conflict("raced", code="concurrent_update", retryable=True)
        self.rows[(scope, subscription.id)] = subscription
        self.histories[(scope, subscription.id)].append(history)
        self.events.append(event)

    def list(self, scope: Scope, query, limit: int, starting_after: str | None) -> Page:
        rows = sorted((s for (sc, _), s in self.rows.items() if sc == scope), key=lambda s: s.id, reverse=True)
        rows = [s for s in rows if starting_after is None or s.id < starting_after]
        rows = [s for s in rows if query.customer in (None, s.customer) and query.status in (None, s.status)]
        rows = [s for s in rows if query.plan_code in (None, s.plan_code)]
        return Page(data=rows[:limit], has_more=len(rows) > limit)

    def history(self, scope: Scope, subscription_id: str) -> list:
        return list(self.histories.get((scope, subscription_id), []))


class MemoryUsageEvents:
    """The usage event store and its stream: a created key is an INSERT; an existing key is left
    alone (the adapter's conditional writes)."""

    def __init__(self) -> None:
        self.items: dict[tuple, object] = {}
        self.stream: list[tuple[str, Scope, object]] = []
        self._lock = threading.Lock()

    def existing(self, scope: Scope, transaction_ids) -> set[str]:
        with self._lock:
            return {txid for txid in transaction_ids if (scope, txid) in self.items}

    def put_new(self, scope: Scope, events) -> set[str]:
        created = set()
        for event in events:  # item by item, as the adapter's parallel writes: racing writers interleave
            with self._lock:
                if (scope, event.transaction_id) not in self.items:
                    self.items[(scope, event.transaction_id)] = event
                    self.stream.append((str(len(self.stream) + 1000), scope, event))
                    created.add(event.transaction_id)
        return created

    def get(self, scope: Scope, transaction_id: str):
        return self.items.get((scope, transaction_id))

    def for_customer(self, scope: Scope, customer: str, window, code, limit: int, before):
        found = sorted(
            (e for (sc, _), e in self.items.items() if sc == scope and e.customer == customer),
            key=lambda e: f"{e.timestamp}#{e.transaction_id}", reverse=True,
        )  # fmt: skip
        found = [e for e in found if window[0] <= e.timestamp <= window[1] and code in (None, e.code)]
        found = [e for e in found if before is None or f"{e.timestamp}#{e.transaction_id}" < before]
        after = f"{found[limit - 1].timestamp}#{found[limit - 1].transaction_id}" if len(found) > limit else None
        return found[:limit], after


class MemoryAggregates:
    """Aggregate store with the adapter's semantics: a chunk commits atomically with its marker,
    a record is parked atomically with its marker, a replay removes its parked record."""

    def __init__(self) -> None:
        self.rows: dict = {}
        self.markers: dict[str, tuple] = {}
        self.parked: dict = {}  # the parked records (the fake is their store too)
        self.values: set = set()
        self.level_rows: dict = {}
        self.groups: dict = {}
        self._lock = threading.Lock()

    def chunk_size(self, events) -> int:
        from billing.adapters.dynamodb.usage_aggregates import chunk_size

        return chunk_size(events)

    def list_by_customer(self, claim, events) -> None:
        pass  # MemoryUsageEvents lists its events itself

    def raise_extremes(self, deltas) -> None:
        with self._lock:
            for key, delta in deltas.items():
                row = self.rows.setdefault(key, _row(delta))
                if delta.max is not None and (row["max"] is None or delta.max > row["max"]):
                    row["max"] = delta.max
                if delta.latest is not None and (row["latest"] is None or delta.latest[0] > row["latest"][0]):
                    row["latest"] = delta.latest

    def unseen(self, deltas) -> dict:
        with self._lock:
            found: dict = {}
            for key, delta in deltas.items():
                fresh = {value for value in delta.uniques if (key, value) not in self.values}
                if fresh:
                    found[key] = fresh
            return found

    def commit(self, claim, deltas, new_values) -> None:
        from billing.usage.aggregator import AlreadyApplied, ValueTaken

        with self._lock:
            if claim.marker in self.markers:
                raise AlreadyApplied(self.markers[claim.marker])
            if any((key, value) in self.values for key, values in new_values.items() for value in values):
                raise ValueTaken()
            self.markers[claim.marker] = claim.sequences
            self.parked.pop(claim.settles, None)
            for key, delta in deltas.items():
                row = self.rows.setdefault(key, _row(delta))
                row["n"] += delta.n
                row["total"] += delta.total
                row["wsum"] += delta.wsum
                row["unique"] += len(new_values.get(key, ()))
            self.values |= {(key, value) for key, values in new_values.items() for value in values}
            for key, delta in deltas.items():
                if delta.aggregation == "weighted_sum":
                    level = (key.scope, key.subscription, (key.code, key.group_key))
                    self.level_rows[level] = self.level_rows.get(level, 0) + delta.total
                self.groups[key] = delta.group

    def park(self, claim, parked) -> None:
        from billing.usage.aggregator import AlreadyApplied

        with self._lock:
            if claim.marker in self.markers:
                raise AlreadyApplied(self.markers[claim.marker])
            self.markers[claim.marker] = claim.sequences
            self.parked[parked.id] = parked

    def carry(self, claim) -> None:
        with self._lock:
            self.markers.setdefault(claim.marker, claim.sequences)

    def list(self, limit: int, after):
        found = sorted(p for p in self.parked if after is None or p > after)
        return Page(data=[self.parked[p] for p in found[:limit]], has_more=len(found) > limit)

    def get(self, parked_id: str):
        return self.parked.get(parked_id)

    def failed_again(self, parked_id: str, error: str) -> None:
        import dataclasses

        if parked_id in self.parked:
            old = self.parked[parked_id]
            self.parked[parked_id] = dataclasses.replace(old, error=error, attempts=old.attempts + 1)

    def period(self, scope: Scope, subscription: str, period_start: str) -> list:
        from billing.usage.totals import Stored

        return [
            Stored(code=key.code, group=self.groups.get(key, {}), aggregation=row["aggregation"], n=row["n"],
                   total=row["total"], wsum=row["wsum"], max=row["max"],
                   latest=row["latest"][1] if row["latest"] else None, unique=row["unique"])
            for key, row in self.rows.items()
            if (key.scope, key.subscription, key.period_start) == (scope, subscription, period_start)
        ]  # fmt: skip

    def levels(self, scope: Scope, subscription: str) -> dict:
        return {k: total for (sc, sub, k), total in self.level_rows.items() if (sc, sub) == (scope, subscription)}


def _row(delta) -> dict:
    from decimal import Decimal

    return {"n": 0, "total": Decimal(0), "wsum": Decimal(0), "max": None, "latest": None, "unique": 0,
            "aggregation": delta.aggregation}  # fmt: skip


class MemoryInvoices:
    """Invoices, the number counter and the journal, with the adapter's all-or-nothing writes."""

    def __init__(self, subscriptions: MemorySubscriptions) -> None:
        self.rows: dict[tuple[Scope, str], object] = {}
        self.counters: dict[Scope, int] = {}
        self.entries: dict[tuple[Scope, str], list] = {}
        self.events: list[DomainEvent] = []
        self._subscriptions = subscriptions
        self._lock = threading.RLock()
        self.items: MemoryInvoiceItems | None = None  # the invoice items a step bills, when wired

    def apply_step(self, scope: Scope, outcome, revision: int, finalize=None):
        subscription, invoice, history, events = outcome.subscription, outcome.invoice, outcome.history, outcome.events
        with self._lock:
            if self._subscriptions.rows[(scope, subscription.id)].revision != revision:
                raise Conflict("raced", code="concurrent_update", retryable=True)
            if invoice and self.items:
                self.items.bill(scope, invoice)  # the conflict, if any, before anything is written
            done = self._finalized(scope, invoice, finalize) if invoice and finalize else None
            self._subscriptions.rows[(scope, subscription.id)] = subscription
            if history:
                self._subscriptions.histories[(scope, subscription.id)].append(history)
            if done:
                invoice = done.invoice
            if invoice:
                self.rows[(scope, invoice.id)] = invoice
            self.events += [*events, *(done.events if done else [])]
            return invoice

    def get(self, scope: Scope, invoice_id: str):
        return self.rows.get((scope, invoice_id))

    def list(self, scope: Scope, query, limit: int, starting_after: str | None) -> Page:
        rows = sorted((i for (sc, _), i in self.rows.items() if sc == scope), key=lambda i: i.id, reverse=True)
        rows = [i for i in rows if starting_after is None or i.id < starting_after]
        for name in ("customer", "subscription", "status"):
            rows = [i for i in rows if getattr(query, name) in (None, getattr(i, name))]
        return Page(data=rows[:limit], has_more=len(rows) > limit)

    def finalize(self, scope: Scope, draft, build):
        with self._lock:
            if self.rows[(scope, draft.id)].revision != draft.revision:
                raise Conflict("raced", code="concurrent_update", retryable=True)
            done = self._finalized(scope, draft, build)
            self.rows[(scope, draft.id)] = done.invoice
            self.events += done.events
            return done.invoice

    def _finalized(self, scope: Scope, draft, build):
        """Number and post ``draft`` as ``build`` makes it (the invoice and events are for the
        caller to store): nothing is written when its entry is refused."""
        sequence = self.counters.get(scope, 0) + 1
        done = build(self.balances(scope, draft.customer), sequence)
        self.record(scope, done.journal)
        self.counters[scope] = sequence
        return done

    def post(self, scope: Scope, invoice, revision: int, journal, events, voided_items=()) -> None:
        with self._lock:
            if self.rows[(scope, invoice.id)].revision != revision:
                raise Conflict("raced", code="concurrent_update", retryable=True)
            self.record(scope, journal)
            self.rows[(scope, invoice.id)] = invoice
            self.events += events

    def record(self, scope: Scope, journal) -> None:
        """Append an entry, as the adapter does: never one that takes credit no longer there."""
        balances = ledger.balances([*self.journal(scope, journal.customer), journal])
        if balances.get(ledger.CUSTOMER_CREDIT, 0) > 0:
            raise Conflict("credit used meanwhile", code="concurrent_update", retryable=True)
        self.entries.setdefault((scope, journal.customer), []).append(journal)

    def journal(self, scope: Scope, customer: str) -> list:
        return list(self.entries.get((scope, customer), []))

    def balances(self, scope: Scope, customer: str) -> dict[str, int]:
        return ledger.balances(self.journal(scope, customer))

    def of_subscription(self, scope: Scope, subscription_id: str) -> list:
        return [i for (sc, _), i in self.rows.items() if sc == scope and i.subscription == subscription_id]

    def open_of(self, scope: Scope, customer_id: str) -> list:
        return [
            i for (sc, _), i in self.rows.items() if sc == scope and i.customer == customer_id and i.status == "open"
        ]


class MemoryInvoiceItems:
    """Invoice items with the adapter's exactly-once billing; ``create_billed`` writes through
    ``invoices`` (numbered, posted) as the adapter's one transaction does."""

    def __init__(self, invoices: MemoryInvoices) -> None:
        self.rows: dict[tuple[Scope, str], Any] = {}
        self.invoices = invoices
        invoices.items = self

    def create(self, scope: Scope, item, events, set_currency: bool) -> None:
        with self.invoices._lock:
            self.rows[(scope, item.id)] = item
            self.invoices.events += events

    def create_billed(self, scope: Scope, item, build, events, set_currency: bool):
        with self.invoices._lock:
            done = self.invoices._finalized(scope, item, build)
            self.rows[(scope, item.id)] = item
            self.invoices.rows[(scope, done.invoice.id)] = done.invoice
            self.invoices.events += [*events, *done.events]
            return done.invoice

    def bill(self, scope: Scope, invoice) -> None:
        """Mark the items ``invoice`` bills, all or none: an item billed already is a conflict."""
        from billing.collections.invoice_items import billed_by

        ids = billed_by(invoice.lines)
        if any(not self.rows[(scope, i)].pending for i in ids):
            raise Conflict("billed meanwhile", code="concurrent_update", retryable=True)
        for i in ids:
            self.rows[(scope, i)] = self.rows[(scope, i)].model_copy(update={"invoice": invoice.id})

    def get(self, scope: Scope, item_id: str):
        return self.rows.get((scope, item_id))

    def list(self, scope: Scope, query) -> Page:
        rows = sorted((i for (sc, _), i in self.rows.items() if sc == scope), key=lambda i: i.id, reverse=True)
        rows = [i for i in rows if query.customer in (None, i.customer)]
        return Page(data=rows[: query.page.limit], has_more=len(rows) > query.page.limit)

    def pending(self, scope: Scope, customer_id: str) -> list:
        return [i for i in self.of_customer(scope, customer_id) if i.pending]

    def of_customer(self, scope: Scope, customer_id: str) -> list:
        return [i for (sc, _), i in self.rows.items() if sc == scope and i.customer == customer_id]


class MemoryCreditNotes:
    def __init__(self, invoices: MemoryInvoices) -> None:
        self.rows: dict[tuple[Scope, str], object] = {}
        self.counter = 0
        self._invoices = invoices

    def issue(self, scope: Scope, build, invoice_revision: int):
        with self._invoices._lock:
            note, invoice, journal, events = build(self.counter + 1)
            if self._invoices.rows[(scope, invoice.id)].revision != invoice_revision:
                raise Conflict("raced", code="concurrent_update", retryable=True)
            self._invoices.record(scope, journal)
            self.counter += 1
            self.rows[(scope, note.id)] = note
            self._invoices.rows[(scope, invoice.id)] = invoice
            self._invoices.events += events
            return note

    def get(self, scope: Scope, credit_note_id: str):
        return self.rows.get((scope, credit_note_id))

    def list(self, scope: Scope, query, limit: int, starting_after: str | None) -> Page:
        rows = sorted((n for (sc, _), n in self.rows.items() if sc == scope), key=lambda n: n.id, reverse=True)
        rows = [n for n in rows if query.invoice in (None, n.invoice)]
        return Page(data=rows[:limit], has_more=len(rows) > limit)


class MemoryPayments:
    """Payments, writing the invoices they pay and their entries with the adapter's checks."""

    def __init__(self, invoices: MemoryInvoices, customers: MemoryCustomers) -> None:
        self.rows: dict[tuple[Scope, str], object] = {}
        self.references: dict[tuple[Scope, str, str], str] = {}
        self._invoices, self._customers = invoices, customers

    def record(self, scope: Scope, payment, invoices, entries, events, set_currency: bool = False) -> None:
        with self._invoices._lock:
            stored = self.rows.get((scope, payment.id))
            if payment.revision == 1 and stored is not None:
                raise Conflict("taken", code="payment_exists")
            if payment.revision > 1 and (stored is None or stored.revision != payment.revision - 1):
                raise Conflict("raced", code="concurrent_update", retryable=True)
            for invoice in invoices:
                if self._invoices.rows[(scope, invoice.id)].revision != invoice.revision - 1:
                    raise Conflict("raced", code="concurrent_update", retryable=True)
            customer = self._customers.rows[(scope, payment.customer)]
            if set_currency and customer.currency not in (None, payment.currency):
                raise DomainRuleViolation("other", code="currency_mismatch", param="currency")
            if entries and ledger.credit_available(self._invoices.balances(scope, payment.customer)) < sum(
                p.debit - p.credit for e in entries for p in e.postings if p.account == ledger.CUSTOMER_CREDIT
            ):
                raise Conflict("credit used meanwhile", code="concurrent_update", retryable=True)
            if set_currency:
                self._customers.rows[(scope, customer.id)] = replace(customer, currency=payment.currency)
            for entry in entries:
                self._invoices.record(scope, entry)
            for invoice in invoices:
                self._invoices.rows[(scope, invoice.id)] = invoice
            self.rows[(scope, payment.id)] = payment
            for reference in (payment.provider_reference, payment.payment_reference):
                if reference and payment.provider != "offline":
                    self.references[(scope, payment.provider, reference)] = payment.id
            self._invoices.events += events

    def by_reference(self, scope: Scope, provider: str, reference: str):
        payment_id = self.references.get((scope, provider, reference))
        return self.rows.get((scope, payment_id)) if payment_id else None

    def get(self, scope: Scope, payment_id: str):
        return self.rows.get((scope, payment_id))

    def list(self, scope: Scope, query, limit: int, starting_after: str | None) -> Page:
        rows = sorted((p for (sc, _), p in self.rows.items() if sc == scope), key=lambda p: p.id, reverse=True)
        rows = [p for p in rows if starting_after is None or p.id < starting_after]
        for name in ("customer", "status", "provider"):
            rows = [p for p in rows if getattr(query, name) in (None, getattr(p, name))]
        if query.invoice:  # made for it, else first allocated to it (the adapter's GSI3)
            rows = [p for p in rows if (p.invoice or next((a.invoice for a in p.allocations), None)) == query.invoice]
        return Page.of(rows[:limit], rows[limit - 1].id if len(rows) > limit else None)


class MemoryQueue(list):
    """A queue: what is sent waits in the list, oldest first."""

    def send(self, messages) -> None:
        self.extend(messages)


class MemoryRunStore:
    """Invoice runs with the adapter's once-per-message accounting."""

    def __init__(self) -> None:
        self.runs: dict = {}
        self.markers: set = set()
        self.spawned: dict = {}

    def create(self, scope: Scope, run) -> None:
        self.runs[(scope, run.id)] = run.model_copy(
            update={"progress": {"messages_done": 0, "messages_total": run.pending}}
        )

    def get(self, scope: Scope, run_id: str):
        return self.runs.get((scope, run_id))

    def spawn(self, scope: Scope, run_id: str, message_id: str, children: list) -> list:
        if not children:
            return []
        if (run_id, message_id, "spawn") in self.markers:
            return self.spawned[(run_id, message_id)]
        self.markers.add((run_id, message_id, "spawn"))
        self.spawned[(run_id, message_id)] = children
        run = self.runs[(scope, run_id)]
        run.pending += len(children)
        run.progress["messages_total"] += len(children)
        return children

    def abandon(self, scope: Scope, run_id: str, at: str) -> None:
        run = self.runs[(scope, run_id)]
        run.status, run.pending, run.completed_at = "failed", 0, at

    def finish(self, scope: Scope, run_id: str, message_id: str, counts: dict, at: str, failures=()) -> None:
        if (run_id, message_id, "done") in self.markers:
            return
        self.markers.add((run_id, message_id, "done"))
        run = self.runs[(scope, run_id)]
        if len(run.failures) < MAX_FAILURES:
            run.failures += list(failures)
        run.pending -= 1
        run.progress["messages_done"] += 1
        for name, value in counts.items():
            run.counts[name] += value
        if run.pending <= 0:
            run.status, run.completed_at = "completed", at


class MemoryDueIndex:
    """The due index computed from the stores: subscriptions by their next step, drafts by
    their finalization; one partition."""

    def __init__(self, subscriptions: MemorySubscriptions, invoices: MemoryInvoices) -> None:
        self._subscriptions, self._invoices = subscriptions, invoices

    def partitions(self, scope: Scope) -> list[str]:
        return [scope.key]

    def page(self, partition: str, as_of: str, start, limit: int):
        from billing.subscriptions.cycle import due_at

        due = [(due_at(s), "sub", s.id) for (sc, _), s in self._subscriptions.rows.items() if sc.key == partition]
        due += [(i.finalize_at, "inv", i.id) for (sc, _), i in self._invoices.rows.items()
                if sc.key == partition and i.status == "draft"]  # fmt: skip
        found = sorted(d for d in due if d[0] is not None and d[0] <= as_of)
        offset = (start or {}).get("offset", 0)
        page = found[offset : offset + limit]
        return page, ({"offset": offset + limit} if offset + limit < len(found) else None)


class MemoryCheckoutSessions:
    """Checkout sessions with their token guards; ``attach`` writes through ``MemoryPayments``."""

    def __init__(self, payments: MemoryPayments) -> None:
        self.rows: dict[tuple[Scope, str], object] = {}
        self.tokens: dict[str, tuple[Scope, str]] = {}
        self._payments = payments

    def create(self, scope: Scope, session) -> None:
        from billing.payments.checkout import token_digest

        self.rows[(scope, session.id)] = session
        self.tokens[token_digest(session.token)] = (scope, session.id)

    def get(self, scope: Scope, session_id: str):
        return self.rows.get((scope, session_id))

    def by_token(self, digest: str):
        found = self.tokens.get(digest)
        return (found[0], self.rows[found]) if found else None

    def attach(self, scope: Scope, session, payment) -> None:
        if self._payments.by_reference(scope, payment.provider, payment.provider_reference):
            raise Conflict("attached", code="checkout_attached")
        self._payments.record(scope, payment, [], [], [])
        stored = self.rows[(scope, session.id)]
        self.rows[(scope, session.id)] = stored.model_copy(update={"payments": [*stored.payments, payment.id]})

    def payments_of(self, scope: Scope, payment_ids) -> list:
        return [self._payments.rows[(scope, i)] for i in payment_ids if (scope, i) in self._payments.rows]


class FakeCipher:
    """Seals by XOR with a key and binds the context, as KMS does: what it sealed opens only
    with the same context. The ciphertext holds no byte of the plaintext as it was."""

    KEY = 0x5A

    def __init__(self) -> None:
        self.opened = 0

    def encrypt(self, plaintext: bytes, context: Mapping[str, str]) -> bytes:
        bound = json.dumps(dict(sorted(context.items()))).encode()
        return len(bound).to_bytes(2, "big") + bound + bytes(b ^ self.KEY for b in plaintext)

    def decrypt(self, ciphertext: bytes, context: Mapping[str, str]) -> bytes:
        size = int.from_bytes(ciphertext[:2], "big")
        if json.loads(ciphertext[2 : 2 + size]) != dict(sorted(context.items())):
            raise PermissionError("InvalidCiphertextException: another encryption context")
        self.opened += 1
        return bytes(b ^ self.KEY for b in ciphertext[2 + size :])


class MemoryProviderAccounts:
    def __init__(self) -> None:
        self.rows: dict[tuple[Scope, str], Any] = {}
        self.endpoints: dict[str, Any] = {}
        self.reads = 0

    def get(self, scope: Scope, provider: str) -> Any:
        self.reads += 1
        return self.rows.get((scope, provider))

    def list(self, scope: Scope) -> list[Any]:
        self.reads += 1
        return [account for (s, _), account in sorted(self.rows.items(), key=lambda kv: kv[0][1]) if s == scope]

    def create(self, scope: Scope, account: Any) -> None:
        from billing.payments.accounts import Endpoint

        if (scope, account.provider) in self.rows or account.endpoint_id in self.endpoints:
            raise Conflict("raced", code="concurrent_update", retryable=True)
        self.rows[(scope, account.provider)] = account
        self.endpoints[account.endpoint_id] = Endpoint(scope, account.provider)

    def replace(self, scope: Scope, account: Any) -> None:
        stored = self.rows.get((scope, account.provider))
        if stored is None or stored.revision != account.revision - 1:
            raise Conflict("raced", code="concurrent_update", retryable=True)
        self.rows[(scope, account.provider)] = account

    def endpoint(self, endpoint_id: str) -> Any:
        self.reads += 1
        return self.endpoints.get(endpoint_id)


class MemoryProviderEvents:
    """Stored provider events, keyed as the adapter keys them."""

    def __init__(self) -> None:
        self.rows: dict[Any, Any] = {}
        self.raw: dict[Any, bytes] = {}

    def add(self, ref: Any, event: Any, raw_body: bytes, at: datetime) -> Any:
        from billing.payments.provider_events import StoredEvent

        if ref in self.rows:
            return self.rows[ref]
        self.rows[ref], self.raw[ref] = StoredEvent(ref, event, "received", at), raw_body
        return None

    def get(self, ref: Any) -> Any:
        return self.rows.get(ref)

    def mark_processed(self, ref: Any, at: datetime) -> None:
        if ref in self.rows and self.rows[ref].state == "received":
            self.rows[ref] = replace(self.rows[ref], state="processed")


class MemoryEventQueue:
    """A FIFO queue that drops a reference sent again while the first is still queued (SQS
    deduplicates within five minutes)."""

    def __init__(self) -> None:
        self.messages: list[tuple[Any, str]] = []

    def send(self, ref: Any, subject: str) -> None:
        if all(queued != ref for queued, _ in self.messages):
            self.messages.append((ref, subject))


class MemoryWebhookEndpoints:
    """``billing.webhooks_out.ports.EndpointRepository`` in memory."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], Any] = {}

    def list(self, scope: Scope) -> list[Any]:
        return sorted((e for (key, _), e in self.items.items() if key == scope.key), key=lambda e: e.id)

    def get(self, scope: Scope, endpoint_id: str) -> Any:
        return self.items.get((scope.key, endpoint_id))

    def create(self, scope: Scope, endpoint: Any) -> None:
        assert (scope.key, endpoint.id) not in self.items
        self.items[(scope.key, endpoint.id)] = endpoint

    def replace(self, scope: Scope, endpoint: Any) -> None:
        stored = self.items.get((scope.key, endpoint.id))
        if stored is None or stored.revision != endpoint.revision - 1:
            raise Conflict("changed meanwhile", code="concurrent_update", retryable=True)
        self.items[(scope.key, endpoint.id)] = endpoint

    def delete(self, scope: Scope, endpoint_id: str) -> None:
        self.items.pop((scope.key, endpoint_id), None)


class MemoryWebhookDeliveries:
    """``billing.webhooks_out.ports.DeliveryStore`` in memory."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str, str], Any] = {}

    def add(self, scope: Scope, delivery: Any) -> Any:
        key = (scope.key, delivery.endpoint_id, delivery.id)
        if key in self.items:
            return self.items[key]
        self.items[key] = delivery
        return None

    def get(self, scope: Scope, endpoint_id: str, delivery_id: str) -> Any:
        return self.items.get((scope.key, endpoint_id, delivery_id))

    def attempted(self, scope: Scope, delivery: Any) -> None:
        self.items[(scope.key, delivery.endpoint_id, delivery.id)] = delivery

    def page(self, scope: Scope, endpoint_id: str, request: Any) -> Page[Any]:
        mine = sorted((d for (s, e, _), d in self.items.items() if (s, e) == (scope.key, endpoint_id)),
                      key=lambda d: d.id, reverse=True)  # fmt: skip
        if request.starting_after:
            mine = [d for d in mine if d.id < request.starting_after]
        shown = mine[: request.limit]
        return Page.of(shown, shown[-1].id if len(mine) > request.limit else None)


class MemoryDeliveryQueue:
    def __init__(self) -> None:
        self.sent: list[Any] = []

    def send(self, refs: Any) -> None:
        self.sent.extend(refs)


class MemoryPrepaid:
    """The prepaid store: wallets and running states, the debit written at once with its event
    (into ``events``, a ``MemoryUsageEvents``) under the adapter's conditions, checked under one
    lock as DynamoDB checks a transaction. ``top_up`` plays a payment's credit."""

    def __init__(self, events: MemoryUsageEvents) -> None:
        from billing.prepaid.model import Wallet

        self.events = events
        self.wallets: dict[tuple[Scope, str], Wallet] = {}
        self.running: dict[tuple, object] = {}
        self.notices: list[DomainEvent] = []
        self.debits = 0
        self._lock = threading.Lock()

    def top_up(self, scope: Scope, customer: str, amount: int) -> None:
        from billing.prepaid.model import Wallet

        with self._lock:
            wallet = self.wallets.get((scope, customer), Wallet())
            self.wallets[(scope, customer)] = Wallet(wallet.balance + amount, wallet.unbilled, wallet.closed)

    def close_all(self) -> None:
        """Every period debited so far had its statement finalized (its debits released)."""
        from dataclasses import replace

        with self._lock:
            periods = frozenset((meter.subscription, meter.period_start) for _, meter in self.running)
            self.wallets = {key: replace(w, unbilled=0, closed=w.closed | periods) for key, w in self.wallets.items()}

    def read(self, scope: Scope, customer: str, meter):
        from billing.prepaid.model import Wallet
        from billing.prepaid.rating import Running

        with self._lock:
            running = self.running.get((scope, meter), Running()) if meter else Running()
            return self.wallets.get((scope, customer), Wallet()), running

    def wallet(self, scope: Scope, customer: str):
        return self.read(scope, customer, None)[0]

    def stored(self, scope: Scope, transaction_id: str) -> bool:
        return bool(self.events.existing(scope, [transaction_id]))

    def debit(self, scope: Scope, debit) -> None:
        from billing.prepaid.model import Wallet
        from billing.prepaid.rating import Running
        from billing.prepaid.service import AlreadyStored, Stale

        event = debit.event
        with self._lock:
            if (scope, event.transaction_id) in self.events.items:
                raise AlreadyStored()
            if debit.step and self.running.get((scope, debit.meter), Running()).version != debit.step.before.version:
                raise Stale()
            wallet = self.wallets.get((scope, event.customer), Wallet())
            amount, decision = debit.amount, debit.decision
            if amount and (debit.meter.subscription, debit.meter.period_start) in wallet.closed:
                raise Stale()
            if amount:
                if debit.covered_required and amount > 0 and wallet.balance < amount:
                    raise Stale()
                if decision.crossed and wallet.balance != decision.before:
                    raise Stale()
                if any(b.level <= wallet.balance <= b.level + amount - 1 for b in decision.kept):
                    raise Stale()
                self.wallets[(scope, event.customer)] = Wallet(
                    wallet.balance - amount, wallet.unbilled + amount, wallet.closed
                )
            if debit.step:
                self.running[(scope, debit.meter)] = debit.step.after
            self.events.items[(scope, event.transaction_id)] = event
            self.events.stream.append((str(len(self.events.stream) + 1000), scope, event))
            self.notices.extend(debit.notices)
            self.debits += 1
