"""Local stand-ins for the payment providers: Stripe (Checkout Sessions over localstripe),
Whitepay and Coinbase Commerce. ``StandIns`` starts the three on free ports of 127.0.0.1 and
gives the platform settings that point our provider modules at them (``environment``); only
the base URLs and the secrets differ from production. See README.md beside this file.
"""

from __future__ import annotations

from infra.local.standins.coinbase_commerce import CoinbaseCommerceStandIn
from infra.local.standins.server import StandIn, register_webhook
from infra.local.standins.stripe import StripeStandIn
from infra.local.standins.whitepay import WhitepayStandIn

SETTINGS = {
    "stripe": "STRIPE_API_BASE",
    "whitepay": "WHITEPAY_API_BASE",
    "coinbase_commerce": "COINBASE_COMMERCE_API_BASE",
}
"""The platform setting (environment variable) that points each provider module at its API."""


class StandIns:
    """The three stand-ins, by provider name; threads of this process, stopped together."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.servers: dict[str, StandIn] = {
            "stripe": StripeStandIn(host),
            "whitepay": WhitepayStandIn(host),
            "coinbase_commerce": CoinbaseCommerceStandIn(host),
        }

    def start(self) -> None:
        for server in self.servers.values():
            server.start()

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()

    def environment(self) -> dict[str, str]:
        return {SETTINGS[name]: server.base_url for name, server in self.servers.items()}

    def register_webhook(self, provider: str, key: str, url: str, secret: str) -> None:
        """Send ``provider``'s events about objects of ``key`` (an API key, a store slug) to
        ``url``, signed with ``secret``: what a tenant does in the provider's dashboard."""
        register_webhook(self.servers[provider].base_url, key, url, secret)


__all__ = ["SETTINGS", "StandIns", "register_webhook"]
