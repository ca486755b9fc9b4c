"""``/v1/payment_providers``: the tenant's own accounts with Stripe and the crypto providers, per
mode (``billing.payments.accounts``). Credentials go in and are never shown again; the views
import the domain when first called, as the services load (``billing.adapters.services``)."""

from __future__ import annotations

from typing import Any

from billing.adapters.services import provider_accounts
from billing.settings import get_settings
from chalicelib.http import Call, route


@route("/v1/payment_providers/{provider}", methods=("PUT",))
def configure_payment_provider(call: Call) -> dict[str, Any]:
    account = provider_accounts().configure(call.scope, call.params["provider"], call.json())
    return account.to_public(get_settings().public_base_url)


@route("/v1/payment_providers")
def list_payment_providers(call: Call) -> dict[str, Any]:
    from billing.pagination import Page

    base_url = get_settings().public_base_url
    accounts = provider_accounts().list(call.scope)
    return Page.whole(accounts).to_public(lambda account: account.to_public(base_url))


@route("/v1/payment_providers/{provider}", methods=("DELETE",))
def disable_payment_provider(call: Call) -> dict[str, Any]:
    account = provider_accounts().disable(call.scope, call.params["provider"])
    return account.to_public(get_settings().public_base_url)
