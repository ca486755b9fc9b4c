"""Wiring: each core service with its DynamoDB adapters, built once per container."""

from __future__ import annotations

from functools import lru_cache

from billing.adapters.dynamodb.customers import DynamoCustomerRepository
from billing.adapters.dynamodb.idempotency import DynamoIdempotencyStore
from billing.adapters.dynamodb.tenants import DynamoTenantRepository
from billing.customers import CustomerService
from billing.idempotency import Idempotency
from billing.tenants import TenantService


@lru_cache(maxsize=1)
def tenants() -> TenantService:
    return TenantService(DynamoTenantRepository())


@lru_cache(maxsize=1)
def customers() -> CustomerService:
    return CustomerService(DynamoCustomerRepository())


@lru_cache(maxsize=1)
def idempotency() -> Idempotency:
    return Idempotency(DynamoIdempotencyStore())
