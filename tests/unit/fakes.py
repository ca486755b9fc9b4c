"""In-memory implementations of the core's repository protocols, for unit tests."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from billing.customers import Customer, CustomerQuery
from billing.errors import Conflict
from billing.events import DomainEvent
from billing.idempotency import Claim, StoredResponse
from billing.pagination import Page
from billing.scope import Scope
from billing.tenants import ApiKey, Tenant


class MemoryTenants:
    def __init__(self) -> None:
        self.tenants: dict[str, Tenant] = {}
        self.keys: dict[str, ApiKey] = {}

    def create_tenant(self, tenant: Tenant) -> None:
        self.tenants[tenant.id] = tenant

    def get_tenant(self, tenant_id: str) -> Tenant | None:
        return self.tenants.get(tenant_id)

    def add_key(self, key: ApiKey) -> None:
        self.keys[key.digest] = key

    def key_by_digest(self, digest: str) -> ApiKey | None:
        return self.keys.get(digest)

    def keys_of(self, tenant_id: str) -> list[ApiKey]:
        return [key for key in self.keys.values() if key.tenant_id == tenant_id]

    def revoke_key(self, key: ApiKey, at: datetime) -> None:
        self.keys[key.digest] = replace(key, revoked_at=at)


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
