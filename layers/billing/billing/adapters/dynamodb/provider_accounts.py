"""Payment provider accounts in the billing table.

- account: ``PK={scope}#PPA``, ``SK=PPA#{provider}``: a scope's few accounts share one
  partition, so listing them is one strongly consistent ``Query``. The credentials are the
  ``sealed`` ciphertext (KMS), never plain text; ``last4`` keeps what the API shows of them.
- endpoint: ``PK=WHEP#{endpoint_id}``, ``SK=WHEP``: whose webhook endpoint an id is (tenant,
  mode, provider), the one ``GetItem`` an incoming webhook starts with. It is written with the
  account's first version, in one transaction, and never changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from billing.adapters.dynamodb import table
from billing.errors import Conflict
from billing.payments.accounts import Endpoint, ProviderAccount
from billing.scope import Scope


def _key(scope: Scope, provider: str) -> dict[str, str]:
    return {"PK": f"{scope.key}#PPA", "SK": f"PPA#{provider}"}


def _endpoint_key(endpoint_id: str) -> dict[str, str]:
    return {"PK": f"WHEP#{endpoint_id}", "SK": "WHEP"}


def to_item(scope: Scope, account: ProviderAccount) -> dict[str, Any]:
    return {
        **_key(scope, account.provider),
        "entity": "provider_account",
        "provider": account.provider,
        "ep": account.endpoint_id,
        "enabled": account.enabled,
        "last4": {name: shown or "" for name, shown in account.last4.items()},
        "sealed": account.sealed,
        "ca": account.created_at.isoformat(),
        "ua": account.updated_at.isoformat(),
        "revision": account.revision,
    }


def from_item(scope: Scope, item: Mapping[str, Any]) -> ProviderAccount:
    return ProviderAccount(
        provider=item["provider"],
        livemode=scope.livemode,
        endpoint_id=item["ep"],
        enabled=bool(item["enabled"]),
        last4={name: shown or None for name, shown in item["last4"].items()},
        created_at=datetime.fromisoformat(item["ca"]),
        updated_at=datetime.fromisoformat(item["ua"]),
        revision=int(item["revision"]),
        sealed=bytes(item["sealed"]),
    )


def endpoint_item(scope: Scope, account: ProviderAccount) -> dict[str, Any]:
    return {
        **_endpoint_key(account.endpoint_id),
        "entity": "webhook_endpoint",
        "tenant_id": scope.tenant_id,
        "livemode": scope.livemode,
        "provider": account.provider,
    }


class DynamoProviderAccountRepository:
    def get(self, scope: Scope, provider: str) -> ProviderAccount | None:
        item = table.get(_key(scope, provider))
        return from_item(scope, item) if item else None

    def list(self, scope: Scope) -> list[ProviderAccount]:
        return [from_item(scope, item) for item in table.query_all(f"{scope.key}#PPA", consistent=True)]

    def create(self, scope: Scope, account: ProviderAccount) -> None:
        raced = Conflict(f"The {account.provider} account was configured meanwhile; retry.", retryable=True,
                         code="concurrent_update")  # fmt: skip
        operations = [
            table.put(to_item(scope, account), "attribute_not_exists(PK)"),
            table.put(endpoint_item(scope, account), "attribute_not_exists(PK)"),
        ]
        table.transact(operations, {0: raced, 1: raced})

    def replace(self, scope: Scope, account: ProviderAccount) -> None:
        raced = Conflict(f"The {account.provider} account was changed meanwhile; retry.", retryable=True,
                         code="concurrent_update")  # fmt: skip
        with table.condition_as(raced):
            table.client().put_item(
                TableName=table.table_name(),
                Item=table.encode(to_item(scope, account)),
                ConditionExpression="revision = :r",
                ExpressionAttributeValues=table.encode({":r": account.revision - 1}),
            )

    def endpoint(self, endpoint_id: str) -> Endpoint | None:
        item = table.get(_endpoint_key(endpoint_id))
        if item is None:
            return None
        return Endpoint(Scope(item["tenant_id"], bool(item["livemode"])), item["provider"])
