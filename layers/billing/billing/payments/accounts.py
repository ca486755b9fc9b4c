"""Which payment providers a tenant enabled, and its credentials for each: the port the
hosted checkout and ``Payments.apply`` read them through.

The tenant's provider accounts (``PUT /v1/payment_providers/{provider}``: encrypted credentials
per tenant and mode) implement it once they land; until then the composition root wires
``NoProviderAccounts``, which enables nothing, so a checkout page offers no method and an
event cannot be confirmed (``provider_not_configured``). Tests use their own implementations.
There is deliberately no fallback to platform-wide credentials: a tenant is paid only into
accounts it configured itself.
"""

from __future__ import annotations

from typing import Protocol

from billing.errors import BillingError
from billing.payments.providers import Credentials
from billing.scope import Scope


class ProviderNotConfigured(BillingError):
    """The tenant has no account with the provider in this mode (503 at the HTTP edge: the
    customer can do nothing about it; the tenant can)."""

    type = "domain_error"
    default_code = "provider_not_configured"
    status = 503


class EnabledProviders(Protocol):
    def enabled(self, scope: Scope) -> list[str]:
        """The providers (``PROVIDERS`` names) the tenant enabled in this mode, in the order
        its checkout page offers them."""

    def credentials(self, scope: Scope, provider: str) -> Credentials:
        """The tenant's credentials for ``provider`` (that module's ``Credentials``); a
        ``ProviderNotConfigured`` when it has none."""


class NoProviderAccounts:
    """No tenant has a provider account: the wiring until provider accounts land."""

    def enabled(self, scope: Scope) -> list[str]:
        return []

    def credentials(self, scope: Scope, provider: str) -> Credentials:
        raise ProviderNotConfigured(f"No {provider} account is configured for this tenant in this mode.")
