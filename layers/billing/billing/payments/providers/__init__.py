"""Payment providers, one module each, chosen from ``PROVIDERS`` by name (as the pricing models
are from ``billing.pricing.MODELS``); ``base`` says what each offers.

Importing this package imports no provider library: ``stripe`` is loaded by the Stripe module
on its first call.
"""

from __future__ import annotations

from billing.payments.providers import base, coinbase_commerce, stripe, whitepay
from billing.payments.providers.base import (
    CardOnFile,
    CheckoutRequest,
    Credentials,
    InvalidSignature,
    Provider,
    ProviderCharge,
    ProviderCheckout,
    ProviderError,
    ProviderEvent,
    SavedCardCharge,
)

REFUNDERS: dict[str, base.Refunder] = {stripe.NAME: stripe}
"""The providers asked to return a refund's money, by name; other payments' refunds are recorded."""

PROVIDERS: dict[str, Provider] = {
    stripe.NAME: stripe,
    whitepay.NAME: whitepay,
    coinbase_commerce.NAME: coinbase_commerce,
}

CARDS_ON_FILE: dict[str, CardOnFile] = {stripe.NAME: stripe}
"""The providers that charge a saved card off-session, by name."""

__all__ = [
    "CARDS_ON_FILE",
    "PROVIDERS",
    "CardOnFile",
    "CheckoutRequest",
    "Credentials",
    "InvalidSignature",
    "Provider",
    "ProviderCharge",
    "ProviderCheckout",
    "ProviderError",
    "ProviderEvent",
    "SavedCardCharge",
]
