"""Payment provider accounts: a tenant's own credentials for each provider, per mode.

A tenant configures each provider it takes payments through (``PUT
/v1/payment_providers/{provider}``), in test and live mode apart, as it does everything. The
credentials are validated by the provider module's ``Credentials`` model, sealed by a
``Cipher`` (KMS in production) under an encryption context naming tenant, mode and provider
(a ciphertext copied to another tenant's item does not open), stored sealed, and never shown
again: the API shows each secret's last four characters, as it does for API keys.

Each account has a webhook endpoint, ``/webhooks/{provider}/{endpoint id}``: the id (``we_``
and 130 random bits) names tenant, mode and provider without being guessable from the tenant
id, and it stays the same when the credentials are replaced, so rotating a secret never
changes the URL the tenant registered with the provider. Disabling an account (``DELETE``)
keeps its endpoint and its sealed credentials (a later ``PUT`` enables it again, with the
credentials it sends), but its webhooks are refused and checkout stops offering it.

Reads on the hot paths (a webhook's endpoint and credentials, the methods a checkout page
offers) are cached per container for ``LOOKUP_TTL_S``, like the catalog: a change is seen at
once by the container that made it, and by the others within the TTL.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, NamedTuple, Protocol

from pydantic import SecretStr

from billing.cache import LOOKUP_TTL_S, TtlCache
from billing.clock import Clock, SystemClock, to_wire
from billing.errors import BillingError, Conflict, InvalidRequest, NotFound
from billing.ids import is_id, random_id
from billing.payments.providers import PROVIDERS, Credentials, Provider
from billing.scope import Scope
from billing.validation import parse

ENDPOINT_PREFIX = "we"
MAX_FIELD_LENGTH = 1000  # characters of one credential: KMS seals at most 4 KB at once
SHOWN_FROM_LENGTH = 12  # a secret shorter than this shows none of its characters
ATTEMPTS = 3  # two first PUTs of one provider race for its endpoint


class Cipher(Protocol):
    """Seals and opens small secrets. ``context`` is bound to the ciphertext: opening it with
    another context fails (KMS's encryption context)."""

    def encrypt(self, plaintext: bytes, context: Mapping[str, str]) -> bytes: ...

    def decrypt(self, ciphertext: bytes, context: Mapping[str, str]) -> bytes: ...


@dataclass(frozen=True)
class ProviderAccount:
    """One provider configured for one tenant and mode. ``sealed`` is the credentials'
    ciphertext; ``last4`` each secret's last four characters (None for a secret too short to
    show any of it). ``revision`` counts changes, so two racing changes cannot both win."""

    provider: str
    livemode: bool
    endpoint_id: str
    enabled: bool
    last4: Mapping[str, str | None]
    created_at: datetime
    updated_at: datetime
    revision: int = 1
    sealed: bytes = field(default=b"", repr=False)

    @property
    def webhook_path(self) -> str:
        return f"/webhooks/{self.provider}/{self.endpoint_id}"

    def webhook_url(self, public_base_url: str | None) -> str:
        """Where the provider sends this account's webhooks: on the platform's public URL, or
        the path alone where none is configured (a relative URL)."""
        return f"{public_base_url or ''}{self.webhook_path}"

    def to_public(self, public_base_url: str | None) -> dict[str, Any]:
        """What the API shows: never a credential, only the last characters of each secret."""
        return {
            "object": "payment_provider",
            "provider": self.provider,
            "livemode": self.livemode,
            "enabled": self.enabled,
            "webhook_url": self.webhook_url(public_base_url),
            "last4": dict(self.last4),
            "created_at": to_wire(self.created_at),
            "updated_at": to_wire(self.updated_at),
        }


class ProviderNotConfigured(BillingError):
    """The tenant has no enabled account with the provider in this mode (503 at the HTTP edge:
    the customer can do nothing about it; the tenant can)."""

    type = "domain_error"
    default_code = "provider_not_configured"
    status = 503


class EnabledProviders(Protocol):
    """What checkout and ``Payments.apply`` read of the accounts (``ProviderAccounts``)."""

    def enabled(self, scope: Scope) -> list[str]:
        """The providers (``PROVIDERS`` names) the tenant enabled in this mode."""

    def credentials(self, scope: Scope, provider: str) -> Credentials | None:
        """The tenant's credentials for ``provider``; None when it has no enabled account."""


def required(providers: EnabledProviders, scope: Scope, provider: str) -> Credentials:
    """The tenant's credentials for ``provider``; a ``ProviderNotConfigured`` when it has none.
    There is deliberately no fallback to platform-wide credentials: a tenant is paid only
    into accounts it configured itself."""
    credentials = providers.credentials(scope, provider)
    if credentials is None:
        raise ProviderNotConfigured(f"No {provider} account is configured for this tenant in this mode.")
    return credentials


class NoProviderAccounts:
    """No tenant has a provider account (tests of what needs none)."""

    def enabled(self, scope: Scope) -> list[str]:
        return []

    def credentials(self, scope: Scope, provider: str) -> Credentials | None:
        return None


class Endpoint(NamedTuple):
    """Whose webhook endpoint an id is: ``scope, provider = accounts.endpoint(id)``."""

    scope: Scope
    provider: str


class ProviderAccountRepository(Protocol):
    def get(self, scope: Scope, provider: str) -> ProviderAccount | None: ...

    def list(self, scope: Scope) -> list[ProviderAccount]:
        """The scope's accounts, by provider name."""

    def create(self, scope: Scope, account: ProviderAccount) -> None:
        """Write a new account and its endpoint; a retryable ``Conflict`` if either exists."""

    def replace(self, scope: Scope, account: ProviderAccount) -> None:
        """Write ``account`` over the stored one if that is still at ``account.revision - 1``;
        a retryable ``Conflict`` otherwise."""

    def endpoint(self, endpoint_id: str) -> Endpoint | None: ...


def context(scope: Scope, provider: str) -> dict[str, str]:
    """The encryption context of an account's credentials: the ciphertext opens only for the
    tenant, mode and provider it was sealed for."""
    return {"tenant_id": scope.tenant_id, "mode": "live" if scope.livemode else "test", "provider": provider}


class ProviderAccounts:
    def __init__(
        self,
        repo: ProviderAccountRepository,
        cipher: Cipher,
        clock: Clock | None = None,
        providers: Mapping[str, Provider] = PROVIDERS,
        ttl_s: float = LOOKUP_TTL_S,
    ):
        self._repo, self._cipher, self._clock = repo, cipher, clock or SystemClock()
        self._providers = providers
        self._credentials: TtlCache[Credentials] = TtlCache(ttl_s)
        self._endpoints: TtlCache[Endpoint] = TtlCache(ttl_s)
        self._enabled: TtlCache[builtins.list[str]] = TtlCache(ttl_s)

    def configure(self, scope: Scope, provider: str, body: Any) -> ProviderAccount:
        """Set (or replace) the scope's credentials for ``provider`` and enable it: a 404 naming
        ``provider`` for a provider we do not offer, a 400 naming the field for bad credentials
        (nothing is written). An existing account keeps its endpoint id."""
        module = self._module(provider)
        credentials = parse(module.Credentials, body)
        other = credentials.of_other_mode(scope.livemode)
        if other is not None:
            mode = "live" if scope.livemode else "test"
            raise InvalidRequest(f"Invalid {other}: a {mode} mode account takes {mode} mode credentials.",
                                 code="credentials_mode_mismatch", param=other)  # fmt: skip
        values = reveal(credentials)
        for name, value in values.items():
            if len(value) > MAX_FIELD_LENGTH:
                raise InvalidRequest(f"Invalid {name}: at most {MAX_FIELD_LENGTH} characters.", param=name)
        sealed = self._cipher.encrypt(json.dumps(values).encode(), context(scope, provider))
        last4 = {name: _last4(values[name]) for name in _secret_fields(module)}

        def write() -> ProviderAccount:
            now, existing = self._clock.now(), self._repo.get(scope, provider)
            if existing is None:
                account = ProviderAccount(provider, scope.livemode, random_id(ENDPOINT_PREFIX), True, last4, now, now,
                                          sealed=sealed)  # fmt: skip
                self._repo.create(scope, account)
                return account
            account = replace(existing, enabled=True, last4=last4, updated_at=now, revision=existing.revision + 1,
                              sealed=sealed)  # fmt: skip
            self._repo.replace(scope, account)
            return account

        account = _retried(write)
        self._changed(scope, provider)
        self._credentials.get((scope.key, provider), lambda: credentials, fresh=True)
        return account

    def list(self, scope: Scope) -> list[ProviderAccount]:
        return self._repo.list(scope)

    def get(self, scope: Scope, provider: str) -> ProviderAccount:
        """The scope's account with ``provider``; a 404 naming ``provider`` when there is none."""
        self._module(provider)
        account = self._repo.get(scope, provider)
        if account is None:
            raise NotFound(f"No {provider} account is configured.", param="provider")
        return account

    def disable(self, scope: Scope, provider: str) -> ProviderAccount:
        """Disable the account: its webhooks are refused, checkout no longer offers it. Doing it
        again changes nothing; a provider never configured is a 404 naming ``provider``."""

        def write() -> ProviderAccount:
            account = self.get(scope, provider)
            if not account.enabled:
                return account
            disabled = replace(account, enabled=False, updated_at=self._clock.now(), revision=account.revision + 1)
            self._repo.replace(scope, disabled)
            return disabled

        account = _retried(write)
        self._changed(scope, provider)
        return account

    def credentials(self, scope: Scope, provider: str) -> Credentials | None:
        """The enabled account's credentials, opened (as the provider module's
        ``Credentials``); None when ``provider`` is not configured or is disabled."""

        def load() -> Credentials | None:
            account = self._repo.get(scope, provider)
            if account is None or not account.enabled or provider not in self._providers:
                return None
            opened = json.loads(self._cipher.decrypt(account.sealed, context(scope, provider)))
            credentials = self._providers[provider].Credentials.model_validate(opened)
            # Stored before the mode was checked: a test key never takes a live account's payments.
            return None if credentials.of_other_mode(scope.livemode) else credentials

        return self._credentials.get((scope.key, provider), load)

    def enabled(self, scope: Scope) -> builtins.list[str]:
        """The providers the scope takes payments through now, by name."""

        def load() -> builtins.list[str]:
            listed = [a.provider for a in self._repo.list(scope) if a.enabled and a.provider in self._providers]
            return [provider for provider in listed if self.credentials(scope, provider) is not None]

        return self._enabled.get(scope.key, load) or []

    def endpoint(self, endpoint_id: str) -> Endpoint | None:
        """Whose webhook endpoint ``endpoint_id`` is; None for an id we never issued (one of
        another shape is not looked up). Disabled accounts keep theirs: ask ``credentials``."""
        if not is_id(endpoint_id, ENDPOINT_PREFIX):
            return None
        return self._endpoints.get(endpoint_id, lambda: self._repo.endpoint(endpoint_id))

    def _module(self, provider: str) -> Provider:
        module = self._providers.get(provider)
        if module is None:
            offered = ", ".join(sorted(self._providers))
            raise NotFound(f"No such payment provider: '{provider}' (one of {offered}).", param="provider")
        return module

    def _changed(self, scope: Scope, provider: str) -> None:
        """What this container caches of the scope's accounts is read again at once."""
        self._credentials.forget((scope.key, provider))
        self._enabled.forget(scope.key)


def _retried(write: Callable[[], ProviderAccount]) -> ProviderAccount:
    """``write()``, again from a fresh read when it lost a race (two first PUTs of one provider,
    a PUT and a DELETE)."""
    for attempt in range(ATTEMPTS):
        try:
            return write()
        except Conflict as race:
            if not race.retryable or attempt == ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def reveal(credentials: Credentials) -> dict[str, str]:
    """The credentials as plain strings, secrets opened: what is sealed (and what the local
    stack tells a provider's stand-in). Never for a log or an answer."""
    return {
        name: value.get_secret_value() if isinstance(value, SecretStr) else str(value)
        for name, value in credentials
        if value is not None
    }


def _secret_fields(module: Provider) -> list[str]:
    return [name for name, info in module.Credentials.model_fields.items() if info.annotation is SecretStr]


def _last4(secret: str) -> str | None:
    return secret[-4:] if len(secret) >= SHOWN_FROM_LENGTH else None
