"""Tenants (the businesses using the platform) and their API keys."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from billing import api_keys
from billing.clock import Clock, SystemClock
from billing.errors import InvalidRequest, NotFound, Unauthenticated
from billing.ids import new_id
from billing.scope import Scope
from billing.tenant_settings import SettingsUpdate, TenantSettings


@dataclass(frozen=True)
class Tenant:
    id: str
    name: str
    created_at: datetime


@dataclass(frozen=True)
class ApiKey:
    """A stored key: never the secret itself, only its digest."""

    id: str
    tenant_id: str
    livemode: bool
    digest: str
    last4: str
    created_at: datetime
    revoked_at: datetime | None = None


@dataclass(frozen=True)
class IssuedKey:
    """A key just created: the only moment the secret is known."""

    key: ApiKey
    secret: str


class TenantRepository(Protocol):
    def create_tenant(self, tenant: Tenant) -> None: ...
    def get_tenant(self, tenant_id: str) -> Tenant | None: ...
    def tenant_ids(self) -> list[str]: ...
    def add_key(self, key: ApiKey) -> None: ...
    def key_by_digest(self, digest: str) -> ApiKey | None: ...
    def key_by_id(self, tenant_id: str, key_id: str) -> ApiKey | None: ...
    def revoke_key(self, key: ApiKey, at: datetime) -> None: ...
    def get_settings(self, scope: Scope) -> TenantSettings | None: ...
    def save_settings(self, scope: Scope, settings: TenantSettings) -> None: ...


class TenantService:
    def __init__(self, repo: TenantRepository, clock: Clock | None = None):
        self._repo = repo
        self._clock = clock or SystemClock()

    def create_tenant(self, name: str, livemode: bool = False) -> tuple[Tenant, IssuedKey]:
        """Create a tenant and its first secret key."""
        name = name.strip()
        if not name or len(name) > 200:
            raise InvalidRequest("Tenant name must be 1 to 200 characters.", param="name")
        tenant = Tenant(id=new_id("ten"), name=name, created_at=self._clock.now())
        self._repo.create_tenant(tenant)
        return tenant, self.create_key(tenant.id, livemode)

    def create_key(self, tenant_id: str, livemode: bool = False) -> IssuedKey:
        if self._repo.get_tenant(tenant_id) is None:
            raise NotFound(f"No such tenant: {tenant_id}", param="tenant")
        secret = api_keys.generate(livemode)
        key = ApiKey(
            id=new_id("key"),
            tenant_id=tenant_id,
            livemode=livemode,
            digest=api_keys.digest(secret),
            last4=secret[-4:],
            created_at=self._clock.now(),
        )
        self._repo.add_key(key)
        return IssuedKey(key=key, secret=secret)

    def revoke_key(self, tenant_id: str, key_id: str) -> ApiKey:
        """Revoke one of the tenant's keys, however many it has; revoking twice is harmless."""
        key = self._repo.key_by_id(tenant_id, key_id)
        if key is None:
            raise NotFound(f"No such API key: {key_id}", param="key")
        if key.revoked_at is None:
            self._repo.revoke_key(key, self._clock.now())
        return key

    def tenant_ids(self) -> list[str]:
        return self._repo.tenant_ids()

    def tenant(self, tenant_id: str) -> Tenant:
        tenant = self._repo.get_tenant(tenant_id)
        if tenant is None:
            raise NotFound(f"No such tenant: {tenant_id}", param="tenant")
        return tenant

    def settings(self, scope: Scope) -> TenantSettings:
        """The settings of one mode of the tenant (test and live are kept apart, as everything else)."""
        return self._repo.get_settings(scope) or TenantSettings()

    def update_settings(self, scope: Scope, changes: SettingsUpdate) -> TenantSettings:
        """Change the settings of the caller's mode only: a test key never changes live settings."""
        updated = self.settings(scope).model_copy(update=changes.model_dump(exclude_unset=True))
        self._repo.save_settings(scope, updated)
        return updated

    def authenticate(self, authorization: str | None) -> Scope:
        """The scope a bearer key acts for; 401 for a missing, malformed or revoked key."""
        key = self.key_of(authorization)
        return Scope(tenant_id=key.tenant_id, livemode=key.livemode)

    def key_active(self, tenant_id: str, key_id: str) -> bool:
        """Whether the key still opens its tenant (not revoked): a dashboard session made with
        it ends when it is revoked."""
        key = self._repo.key_by_id(tenant_id, key_id)
        return key is not None and key.revoked_at is None

    def key_of(self, authorization: str | None) -> ApiKey:
        """The key a bearer authorization names; 401 for a missing, malformed or revoked key."""
        secret = api_keys.bearer_token(authorization)
        if secret is None:
            raise Unauthenticated("Provide your API key as 'Authorization: Bearer sk_...'.", code="missing_api_key")
        if not api_keys.is_well_formed(secret):
            raise Unauthenticated("The API key is malformed.")
        key = self._repo.key_by_digest(api_keys.digest(secret))
        if key is None or not api_keys.matches(secret, key.digest):
            raise Unauthenticated("The API key is not valid.")
        if key.revoked_at is not None:
            raise Unauthenticated("The API key has been revoked.", code="api_key_revoked")
        return key
