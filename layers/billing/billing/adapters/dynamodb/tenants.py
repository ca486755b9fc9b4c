"""Tenants and API keys in the billing table.

Keys are found by the digest of the presented secret (one ``GetItem``), and
found by id per tenant through GSI1. Tenants are listed through GSI1 ``TENANTS`` (the scheduled
invoice run starts one run per tenant).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from billing.adapters.dynamodb import table
from billing.errors import Conflict
from billing.scope import Scope
from billing.tenants import ApiKey, Tenant


def _tenant_key(tenant_id: str) -> dict[str, str]:
    return {"PK": f"TENANT#{tenant_id}", "SK": "TENANT"}


def _settings_key(scope: Scope) -> dict[str, str]:
    return {"PK": f"{scope.key}#SETTINGS", "SK": "SETTINGS"}


def _api_key_key(digest: str) -> dict[str, str]:
    return {"PK": f"APIKEY#{digest}", "SK": "APIKEY"}


def _keys_index(tenant_id: str) -> str:
    return f"TENANT#{tenant_id}#APIKEYS"


def _key_to_item(key: ApiKey) -> dict[str, Any]:
    return {
        **_api_key_key(key.digest),
        "GSI1PK": _keys_index(key.tenant_id),
        "GSI1SK": key.id,
        "entity": "api_key",
        "id": key.id,
        "tenant_id": key.tenant_id,
        "livemode": key.livemode,
        "digest": key.digest,
        "last4": key.last4,
        "created_at": key.created_at.isoformat(),
        "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None,
    }


def _key_from_item(item: dict[str, Any]) -> ApiKey:
    return ApiKey(
        id=item["id"],
        tenant_id=item["tenant_id"],
        livemode=bool(item["livemode"]),
        digest=item["digest"],
        last4=item["last4"],
        created_at=datetime.fromisoformat(item["created_at"]),
        revoked_at=datetime.fromisoformat(item["revoked_at"]) if item.get("revoked_at") else None,
    )


class DynamoTenantRepository:
    def create_tenant(self, tenant: Tenant) -> None:
        item = {
            **_tenant_key(tenant.id),
            "GSI1PK": "TENANTS",
            "GSI1SK": tenant.id,
            "entity": "tenant",
            "id": tenant.id,
            "name": tenant.name,
            "created_at": tenant.created_at.isoformat(),
        }
        with table.condition_as(Conflict(f"Tenant {tenant.id} exists.")):
            table.client().put_item(
                TableName=table.table_name(), Item=table.encode(item), ConditionExpression="attribute_not_exists(PK)"
            )

    def get_tenant(self, tenant_id: str) -> Tenant | None:
        item = table.get(_tenant_key(tenant_id))
        if item is None:
            return None
        return Tenant(id=item["id"], name=item["name"], created_at=datetime.fromisoformat(item["created_at"]))

    def tenant_ids(self) -> list[str]:
        ids: list[str] = []
        start = None
        while True:
            items, cursor = table.query_pages("GSI1", "GSI1PK", "TENANTS", start, want=1000)
            ids += [item["id"] for item in items]
            if cursor is None or not items:
                return ids
            last = items[-1]
            start = {"PK": last["PK"], "SK": last["SK"], "GSI1PK": "TENANTS", "GSI1SK": last["GSI1SK"]}

    def add_key(self, key: ApiKey) -> None:
        table.client().put_item(TableName=table.table_name(), Item=table.encode(_key_to_item(key)))

    def key_by_digest(self, digest: str) -> ApiKey | None:
        item = table.get(_api_key_key(digest))
        return _key_from_item(item) if item else None

    def key_by_id(self, tenant_id: str, key_id: str) -> ApiKey | None:
        """One key of the tenant, found by its id in the tenant's key index (one item read)."""
        response = table.client().query(
            TableName=table.table_name(),
            IndexName="GSI1",
            KeyConditionExpression="GSI1PK = :pk AND GSI1SK = :id",
            ExpressionAttributeValues=table.encode({":pk": _keys_index(tenant_id), ":id": key_id}),
        )
        items = response.get("Items", [])
        return _key_from_item(table.decode(items[0])) if items else None

    def revoke_key(self, key: ApiKey, at: datetime) -> None:
        table.client().update_item(
            TableName=table.table_name(),
            Key=table.encode(_api_key_key(key.digest)),
            UpdateExpression="SET revoked_at = :at",
            ExpressionAttributeValues=table.encode({":at": at.isoformat()}),
        )

    def get_settings(self, scope: Scope) -> dict[str, Any]:
        """The mode's settings; the live mode falls back to the tenant item's ``settings``, where
        one set per tenant was stored before settings were kept per mode."""
        item = table.get(_settings_key(scope), consistent=False)
        if item is None and scope.livemode:
            item = table.get(_tenant_key(scope.tenant_id), consistent=False)
        return dict(item.get("settings") or {}) if item else {}

    def save_settings(self, scope: Scope, settings: dict[str, Any]) -> None:
        item = {**_settings_key(scope), "entity": "settings", "settings": settings}
        table.client().put_item(TableName=table.table_name(), Item=table.encode(item))
