"""Customer use cases: create, read, change, archive, list.

Requests arrive parsed (``CustomerCreate``, ``CustomerUpdate``, ``CustomerQuery``: the rules
of each field live with the models); customers leave as ``Customer``, shown by the caller.

Archiving keeps the customer and its billing history; an archived customer
still holds its ``external_id`` and can no longer be changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any, Protocol

from billing.clock import Clock, SystemClock
from billing.customers.model import Customer, CustomerCreate, CustomerQuery, CustomerUpdate
from billing.errors import DomainRuleViolation, InvalidRequest, NotFound
from billing.events import DomainEvent
from billing.ids import is_id, new_id
from billing.pagination import Page
from billing.scope import Scope

_REQUIRED_WHEN_SENT = {
    "billing_mode", "tags", "metadata", "tax_exempt", "tax_rates", "discounts", "locale", "notification_channels",
}  # fmt: skip


class Lookup(Protocol):
    def __call__(self, scope: Scope, object_id: str, /) -> bool:
        """True when the scope has this object (a tax rate, a test clock)."""


TaxRateLookup = Lookup


class CustomerRepository(Protocol):
    def create(self, scope: Scope, customer: Customer, event: DomainEvent) -> None:
        """Store a new customer; ``Conflict`` if its external id is taken."""

    def get(self, scope: Scope, customer_id: str) -> Customer | None: ...

    def find_by_external_id(self, scope: Scope, external_id: str) -> Customer | None: ...

    def save(self, scope: Scope, customer: Customer, previous: Customer, event: DomainEvent) -> None:
        """Replace ``previous`` (compared by version) with ``customer``; ``Conflict`` on a race."""

    def list(self, scope: Scope, query: CustomerQuery, limit: int, starting_after: str | None) -> Page[Customer]: ...


class CustomerService:
    def __init__(
        self,
        repo: CustomerRepository,
        clock: Clock | None = None,
        tax_rates: TaxRateLookup | None = None,
        test_clocks: Lookup | None = None,
    ):
        self._repo = repo
        self._clock = clock or SystemClock()
        self._tax_rate_exists = tax_rates
        self._clock_exists = test_clocks

    def create(self, scope: Scope, data: CustomerCreate) -> Customer:
        self._require_tax_rates(scope, data.tax_rates)
        if data.test_clock and (
            scope.livemode or not (self._clock_exists and self._clock_exists(scope, data.test_clock))
        ):
            raise InvalidRequest(
                f"No such test clock: '{data.test_clock}' (test mode only).",
                code="resource_missing",
                param="test_clock",
            )
        now = self._clock.now()
        customer = Customer(
            id=new_id("cus", int(now.timestamp() * 1000)),
            livemode=scope.livemode,
            created_at=now,
            external_id=data.external_id,
            name=data.name,
            email=data.email,
            phone=data.phone,
            currency=data.currency,
            address=data.address.model_dump(exclude_none=True) if data.address else None,
            billing_mode=data.billing_mode,
            tags=tuple(data.tags),
            metadata=data.metadata,
            tax_exempt=data.tax_exempt,
            tax_rates=tuple(data.tax_rates),
            discounts=tuple(d.model_dump(exclude_none=True) for d in data.discounts),
            test_clock=data.test_clock,
            locale=data.locale,
            notification_channels=tuple(data.notification_channels),
        )
        self._repo.create(scope, customer, self._event("CustomerCreated", scope, customer))
        return customer

    def get(self, scope: Scope, customer_id: str) -> Customer:
        customer = self._repo.get(scope, customer_id)
        if customer is None:
            raise NotFound(f"No such customer: '{customer_id}'", param="id")
        return customer

    def update(self, scope: Scope, customer_id: str, data: CustomerUpdate) -> Customer:
        self._require_tax_rates(scope, data.tax_rates or [])
        current = self.get(scope, customer_id)
        self._refuse_if_archived(current)
        changes: dict[str, Any] = {}
        for name in data.model_fields_set:
            value = getattr(data, name)
            if value is None and name in _REQUIRED_WHEN_SENT:
                raise InvalidRequest(f"{name} cannot be null.", param=name)
            if name == "address" and value is not None:
                value = value.model_dump(exclude_none=True)
            if name in ("tags", "tax_rates", "notification_channels"):
                value = tuple(value)
            if name == "discounts":
                value = tuple(d.model_dump(exclude_none=True) for d in value or ())
            changes[name] = value
        if current.currency and changes.get("currency", current.currency) != current.currency:
            raise DomainRuleViolation(
                f"Customer '{current.id}' pays in {current.currency}; a currency never changes once set.",
                code="currency_locked",
                param="currency",
            )
        updated = replace(current, **changes, version=current.version + 1)
        if updated == replace(current, version=current.version + 1):
            return current
        previous = {name: current.to_public()[name] for name in changes}
        event = self._event("CustomerUpdated", scope, updated, previous_attributes=previous)
        self._repo.save(scope, updated, current, event)
        return updated

    def archive(self, scope: Scope, customer_id: str) -> Customer:
        current = self.get(scope, customer_id)
        if current.status == "archived":
            return current
        archived = replace(current, status="archived", version=current.version + 1)
        self._repo.save(scope, archived, current, self._event("CustomerArchived", scope, archived))
        return archived

    def list(self, scope: Scope, query: CustomerQuery) -> Page[Customer]:
        return self._repo.list(scope, query, query.page.limit, query.page.starting_after)

    def _require_tax_rates(self, scope: Scope, tax_rate_ids: Sequence[str]) -> None:
        for index, tax_rate_id in enumerate(tax_rate_ids):
            if self._tax_rate_exists is not None and not self._tax_rate_exists(scope, tax_rate_id):
                raise InvalidRequest(
                    f"No such tax rate: '{tax_rate_id}'.", code="resource_missing", param=f"tax_rates[{index}]"
                )

    @staticmethod
    def _refuse_if_archived(customer: Customer) -> None:
        if customer.status == "archived":
            raise DomainRuleViolation(
                f"Customer '{customer.id}' is archived and cannot be changed.", code="customer_archived"
            )

    def _event(self, kind: str, scope: Scope, customer: Customer, **extra: Any) -> DomainEvent:
        return DomainEvent(
            type=kind, scope=scope, occurred_at=self._clock.now(), data={"object": customer.to_public(), **extra}
        )


def find_customer(repo: CustomerRepository, scope: Scope, ref: str) -> Customer | None:
    """A customer by id (``cus_...``) or by the tenant's external id."""
    return repo.get(scope, ref) if is_id(ref, "cus") else repo.find_by_external_id(scope, ref)
