"""Tenants, their settings and their API keys in the billing table.

- tenant:   ``PK=TENANT#{id}``, ``SK=TENANT``; GSI1 ``TENANTS`` / id lists every tenant (the
  scheduled invoice run starts one run per tenant and mode).
- settings: ``PK={scope}#SETTINGS``, ``SK=SETTINGS``, one item per tenant and mode.
- API key:  ``PK=APIKEY#{sha256(secret)}``, ``SK=APIKEY``, found by the digest of the presented
  secret (one ``GetItem``); GSI1 ``TENANT#{tenant_id}#APIKEYS`` / key id finds one by id.

Items have their own shape (``*_to_item``/``*_from_item``), not the API's: renaming a field of
the API never rewrites what is stored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from billing.adapters.dynamodb import table
from billing.errors import Conflict
from billing.scope import Scope
from billing.tenant_settings import TenantSettings
from billing.tenants import ApiKey, Tenant


def _tenant_key(tenant_id: str) -> dict[str, str]:
    return {"PK": f"TENANT#{tenant_id}", "SK": "TENANT"}


def _settings_key(scope: Scope) -> dict[str, str]:
    return {"PK": f"{scope.key}#SETTINGS", "SK": "SETTINGS"}


def _api_key_key(digest: str) -> dict[str, str]:
    return {"PK": f"APIKEY#{digest}", "SK": "APIKEY"}


def _keys_index(tenant_id: str) -> str:
    return f"TENANT#{tenant_id}#APIKEYS"


def tenant_to_item(tenant: Tenant) -> dict[str, Any]:
    return {
        **_tenant_key(tenant.id),
        "GSI1PK": "TENANTS",
        "GSI1SK": tenant.id,
        "entity": "tenant",
        "id": tenant.id,
        "name": tenant.name,
        "created_at": tenant.created_at.isoformat(),
    }


def tenant_from_item(item: dict[str, Any]) -> Tenant:
    return Tenant(id=item["id"], name=item["name"], created_at=datetime.fromisoformat(item["created_at"]))


def settings_to_item(scope: Scope, settings: TenantSettings) -> dict[str, Any]:
    return {
        **_settings_key(scope),
        "entity": "settings",
        "grace_s": settings.grace_period,
        "terms_days": settings.payment_terms_days,
        "number_prefix": settings.invoice_prefix,
        "business_name": settings.business_name,
        "business_address": settings.business_address,
        "tax_id": settings.tax_id,
        "support_email": settings.support_email,
        "sms_sender_id": settings.sms_sender_id,
        "pp_low": settings.prepaid_low_balance_threshold,
        "pp_zero": settings.prepaid_at_zero,
        "pp_auto": settings.prepaid_auto_top_up,
        "underpaid_ok": settings.underpayment_tolerance,
        "portal_plans": settings.portal_plans,
    }


def settings_from_item(item: dict[str, Any]) -> TenantSettings:
    """Settings stored before they had an item shape of their own are a ``settings`` map holding
    the model's fields as they were then named (on a settings item, or on the tenant item where
    one set per tenant was kept before settings were per mode): still read as they are."""
    if "settings" in item:
        return TenantSettings.model_validate(item["settings"] or {})
    return TenantSettings(
        grace_period=int(item["grace_s"]),
        payment_terms_days=int(item["terms_days"]),
        invoice_prefix=item["number_prefix"],
        business_name=item.get("business_name"),
        business_address=list(item.get("business_address") or []),
        tax_id=item.get("tax_id"),
        support_email=item.get("support_email"),
        sms_sender_id=item.get("sms_sender_id"),
        prepaid_low_balance_threshold=int(item["pp_low"]) if item.get("pp_low") is not None else None,
        prepaid_at_zero=item.get("pp_zero") or "refuse",
        prepaid_auto_top_up=int(item["pp_auto"]) if item.get("pp_auto") is not None else None,
        underpayment_tolerance=int(item.get("underpaid_ok") or 0),
        portal_plans=list(item.get("portal_plans") or []),
    )


def key_to_item(key: ApiKey) -> dict[str, Any]:
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


def key_from_item(item: dict[str, Any]) -> ApiKey:
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
        with table.condition_as(Conflict(f"Tenant {tenant.id} exists.")):
            table.client().put_item(
                TableName=table.table_name(),
                Item=table.encode(tenant_to_item(tenant)),
                ConditionExpression="attribute_not_exists(PK)",
            )

    def get_tenant(self, tenant_id: str) -> Tenant | None:
        item = table.get(_tenant_key(tenant_id))
        return tenant_from_item(item) if item else None

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
        table.client().put_item(TableName=table.table_name(), Item=table.encode(key_to_item(key)))

    def key_by_digest(self, digest: str) -> ApiKey | None:
        item = table.get(_api_key_key(digest))
        return key_from_item(item) if item else None

    def key_by_id(self, tenant_id: str, key_id: str) -> ApiKey | None:
        """One key of the tenant, found by its id in the tenant's key index (one item read)."""
        response = table.client().query(
            TableName=table.table_name(),
            IndexName="GSI1",
            KeyConditionExpression="GSI1PK = :pk AND GSI1SK = :id",
            ExpressionAttributeValues=table.encode({":pk": _keys_index(tenant_id), ":id": key_id}),
        )
        entries = table.items_of([table.decode(entry) for entry in response.get("Items", [])])
        return key_from_item(entries[0]) if entries else None

    def revoke_key(self, key: ApiKey, at: datetime) -> None:
        table.client().update_item(
            TableName=table.table_name(),
            Key=table.encode(_api_key_key(key.digest)),
            UpdateExpression="SET revoked_at = :at",
            ExpressionAttributeValues=table.encode({":at": at.isoformat()}),
        )

    def get_settings(self, scope: Scope) -> TenantSettings | None:
        """The mode's settings; the live mode falls back to the tenant item's ``settings``, where
        one set per tenant was stored before settings were kept per mode."""
        item = table.get(_settings_key(scope), consistent=False)
        if item is None and scope.livemode:
            item = table.get(_tenant_key(scope.tenant_id), consistent=False)
            item = item if item and item.get("settings") else None
        return settings_from_item(item) if item else None

    def save_settings(self, scope: Scope, settings: TenantSettings) -> None:
        table.client().put_item(TableName=table.table_name(), Item=table.encode(settings_to_item(scope, settings)))
