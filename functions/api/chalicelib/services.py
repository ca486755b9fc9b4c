"""Wiring: each core service with its DynamoDB adapters, built once per container."""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache

from billing.adapters.dynamodb.catalog import DynamoCatalogRepository
from billing.adapters.dynamodb.customers import DynamoCustomerRepository
from billing.adapters.dynamodb.idempotency import DynamoIdempotencyStore
from billing.adapters.dynamodb.meter_readings import DynamoMeterReadingStore
from billing.adapters.dynamodb.outbox import DynamoEventRecorder
from billing.adapters.dynamodb.subscriptions import DynamoSubscriptionRepository
from billing.adapters.dynamodb.tenants import DynamoTenantRepository
from billing.adapters.dynamodb.usage_aggregates import DynamoAggregateStore
from billing.adapters.dynamodb.usage_events import DynamoUsageEventStore
from billing.cache import TtlCache
from billing.catalog.service import CatalogService
from billing.customers import CustomerService
from billing.idempotency import Idempotency
from billing.scope import Scope
from billing.subscriptions.migrations import PlanMigrations
from billing.subscriptions.service import SubscriptionService
from billing.tenant_settings import TenantSettings
from billing.tenants import TenantService
from billing.usage.ingest import UsageIngest
from billing.usage.readings import MeterReadings
from billing.usage.service import UsageService
from billing.usage.stamping import LOOKUP_TTL_S, Directory


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


@lru_cache(maxsize=1)
def usage_ingest() -> UsageIngest:
    directory = Directory(DynamoCustomerRepository(), DynamoSubscriptionRepository(), catalog())

    def grace(scope: Scope) -> timedelta:
        found = tenant_settings.get(scope.tenant_id, lambda: tenants().settings(scope.tenant_id))
        return found.grace if found else timedelta(0)

    return UsageIngest(DynamoUsageEventStore(), directory, grace)


tenant_settings: TtlCache[TenantSettings] = TtlCache(LOOKUP_TTL_S)
"""Settings as the hot path reads them: a change is seen at once by the container that made
it (``update_settings``) and by the others within ``LOOKUP_TTL_S``."""


def update_settings(tenant_id: str, body: object) -> TenantSettings:
    updated = tenants().update_settings(tenant_id, body)
    tenant_settings.get(tenant_id, lambda: updated, fresh=True)
    return updated


@lru_cache(maxsize=1)
def usage() -> UsageService:
    return UsageService(
        subscriptions(), DynamoCustomerRepository(), catalog(), DynamoAggregateStore(), DynamoUsageEventStore()
    )


@lru_cache(maxsize=1)
def meter_readings() -> MeterReadings:
    return MeterReadings(usage_ingest(), DynamoMeterReadingStore(), catalog(), DynamoCustomerRepository())
