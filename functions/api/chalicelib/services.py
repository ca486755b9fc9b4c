"""Wiring: each core service with its DynamoDB adapters, built once per container."""

from __future__ import annotations

from functools import lru_cache

from billing.adapters.dynamodb.catalog import DynamoCatalogRepository
from billing.adapters.dynamodb.customers import DynamoCustomerRepository
from billing.adapters.dynamodb.idempotency import DynamoIdempotencyStore
from billing.adapters.dynamodb.outbox import DynamoEventRecorder
from billing.adapters.dynamodb.subscriptions import DynamoSubscriptionRepository
from billing.adapters.dynamodb.tenants import DynamoTenantRepository
from billing.catalog.service import CatalogService
from billing.customers import CustomerService
from billing.idempotency import Idempotency
from billing.scope import Scope
from billing.subscriptions.migrations import PlanMigrations
from billing.subscriptions.service import SubscriptionService
from billing.tenants import TenantService


@lru_cache(maxsize=1)
def tenants() -> TenantService:
    return TenantService(DynamoTenantRepository())


@lru_cache(maxsize=1)
def customers() -> CustomerService:
    def tax_rate_exists(scope: Scope, tax_rate_id: str) -> bool:
        return catalog().find_by_id(scope, "tax_rate", tax_rate_id) is not None

    return CustomerService(DynamoCustomerRepository(), tax_rates=tax_rate_exists)


@lru_cache(maxsize=1)
def idempotency() -> Idempotency:
    return Idempotency(DynamoIdempotencyStore())


@lru_cache(maxsize=1)
def catalog() -> CatalogService:
    return CatalogService(DynamoCatalogRepository())


@lru_cache(maxsize=1)
def subscriptions() -> SubscriptionService:
    return SubscriptionService(DynamoSubscriptionRepository(), DynamoCustomerRepository(), catalog())


@lru_cache(maxsize=1)
def migrations() -> PlanMigrations:
    return PlanMigrations(subscriptions(), catalog(), DynamoEventRecorder())
