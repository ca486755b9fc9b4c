"""Demo data for ``make run``: a tenant with customers, created on first start.

The demo tenant's id is kept in an SSM parameter. Secrets are never stored,
so when the endpoint kept the tenant from an earlier run (LocalStack), a
fresh key is issued for it and printed.
"""

from __future__ import annotations

from dataclasses import dataclass

import boto3
from botocore.exceptions import ClientError

from billing.adapters.dynamodb.customers import DynamoCustomerRepository
from billing.adapters.dynamodb.tenants import DynamoTenantRepository
from billing.customers import CustomerService
from billing.scope import Scope
from billing.tenants import TenantService

CUSTOMERS = [
    {
        "external_id": "acme-001",
        "name": "Acme Streaming Ltd",
        "email": "billing@acme.example",
        "currency": "USD",
        "address": {
            "country": "US",
            "region": "CA",
            "city": "San Francisco",
            "line1": "1 Market St",
            "postal_code": "94105",
        },
        "tags": ["enterprise"],
    },
    {
        "external_id": "household-17",
        "name": "Anna Schmidt",
        "email": "anna@example.de",
        "phone": "+4915112345678",
        "currency": "EUR",
        "address": {"country": "DE", "city": "Berlin", "line1": "Hauptstr. 17", "postal_code": "10115"},
        "billing_mode": "prepaid",
        "tags": ["household", "utilities"],
    },
    {
        "external_id": "tokyo-42",
        "name": "Sakura Telecom KK",
        "email": "ap@sakura.example",
        "currency": "JPY",
        "address": {"country": "JP", "city": "Tokyo"},
        "metadata": {"crm_id": "SF-00042"},
    },
]


@dataclass(frozen=True)
class Demo:
    tenant_id: str
    api_key: str
    created: bool


def seed(stack_name: str) -> Demo:
    ssm = boto3.client("ssm")
    parameter = f"/{stack_name}/demo/tenant_id"
    tenants = TenantService(DynamoTenantRepository())
    try:
        tenant_id = ssm.get_parameter(Name=parameter)["Parameter"]["Value"]
    except ClientError:
        tenant_id = None
    if tenant_id:
        return Demo(tenant_id=tenant_id, api_key=tenants.create_key(tenant_id).secret, created=False)
    tenant, issued = tenants.create_tenant("Demo Co")
    customers = CustomerService(DynamoCustomerRepository())
    for body in CUSTOMERS:
        customers.create(Scope(tenant.id, livemode=False), body)
    ssm.put_parameter(Name=parameter, Value=tenant.id, Type="String", Overwrite=True)
    return Demo(tenant_id=tenant.id, api_key=issued.secret, created=True)
