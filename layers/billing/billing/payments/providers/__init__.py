"""Payment providers, one module each, chosen from ``PROVIDERS`` by name (as the pricing models
are from ``billing.pricing.MODELS``); ``base`` says what each offers.

Importing this package imports no provider library: ``stripe`` is loaded by the Stripe module
on its first call.
"""

from __future__ import annotations

from billing.payments.providers import coinbase_commerce, stripe, whitepay
from billing.payments.providers.base import (
    CheckoutRequest,
    Credentials,
    InvalidSignature,
    Provider,
    ProviderCheckout,
    ProviderError,
    ProviderEvent,
)

PROVIDERS: dict[str, Provider] = {
    stripe.NAME: stripe,
    whitepay.NAME: whitepay,
    coinbase_commerce.NAME: coinbase_commerce,
}

__all__ = [
    "PROVIDERS",
    "CheckoutRequest",
    "Credentials",
    "InvalidSignature",
    "Provider",
    "ProviderCheckout",
    "ProviderError",
    "ProviderEvent",
]
