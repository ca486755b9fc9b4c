"""What every provider module shares: the registry, the credentials, amounts on the wire,
and the rule that corrects a crypto status by what arrived."""

from __future__ import annotations

import subprocess
import sys

import pytest
from pydantic import ValidationError

from billing.payments.providers import PROVIDERS
from billing.payments.providers.base import from_minor, settled, to_minor
from billing.settings import Settings


def test_the_registry_names_each_provider_module() -> None:
    assert set(PROVIDERS) == {"stripe", "whitepay", "coinbase_commerce"}
    assert {name: provider.CHANNEL for name, provider in PROVIDERS.items()} == {
        "stripe": "card", "whitepay": "crypto", "coinbase_commerce": "crypto"}  # fmt: skip
    for name, provider in PROVIDERS.items():
        assert name == provider.NAME
        assert set(provider.STATUSES.values()) <= {"pending", "succeeded", "partially_paid", "failed", "expired",
                                                   "refunded", "disputed"}  # fmt: skip


def test_credentials_hide_their_secrets_and_refuse_what_they_do_not_know() -> None:
    credentials = PROVIDERS["whitepay"].Credentials.model_validate(
        {"slug": "store", "token": "tok-secret", "webhook_token": "hook-secret"}
    )
    assert "secret" not in repr(credentials) and "secret" not in str(credentials.model_dump())
    with pytest.raises(ValidationError):
        PROVIDERS["stripe"].Credentials.model_validate({"api_key": "sk_test_1", "webhook_secret": "w", "url": "x"})
    with pytest.raises(ValidationError):
        PROVIDERS["coinbase_commerce"].Credentials.model_validate({"api_key": " ", "webhook_secret": "w"})


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [("12.50", "USD", 1250), ("12.5", "usd", 1250), ("1000", "JPY", 1000), ("1.234", "BHD", 1234),
     ("10.005", "USD", 1000), ("0", "EUR", 0), ("5", "USDT", None), ("abc", "USD", None), (None, "USD", None),
     ("NaN", "USD", None)],
)  # fmt: skip
def test_decimal_strings_become_minor_units_rounded_down(text: str | None, currency: str, minor: int | None) -> None:
    assert to_minor(text, currency) == minor


def test_minor_units_become_decimal_strings() -> None:
    assert [from_minor(1250, "USD"), from_minor(1000, "JPY"), from_minor(1234, "BHD"), from_minor(5, "USD")] == [
        "12.50", "1000", "1.234", "0.05"]  # fmt: skip


@pytest.mark.parametrize(
    ("status", "asked", "received", "result"),
    [("succeeded", 1000, 400, "partially_paid"), ("succeeded", 1000, 1500, "succeeded"),
     ("expired", 1000, 0, "expired"), ("expired", 1000, 1000, "succeeded"), ("failed", 1000, 1, "partially_paid"),
     ("pending", 1000, 400, "pending"), ("refunded", 1000, 400, "refunded"), ("succeeded", None, 400, "succeeded"),
     (None, 1000, 400, None)],
)  # fmt: skip
def test_what_arrived_corrects_a_crypto_status(status: str | None, asked: int | None, received: int,
                                               result: str | None) -> None:  # fmt: skip
    assert settled(status, asked, received) == result  # type: ignore[arg-type]


def test_base_urls_are_platform_settings_with_production_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().stripe_api_base == "https://api.stripe.com"
    monkeypatch.setenv("WHITEPAY_API_BASE", "http://127.0.0.1:9/")
    assert Settings.from_env().whitepay_api_base == "http://127.0.0.1:9"
    with pytest.raises(ValidationError):
        Settings(coinbase_commerce_api_base="ftp://example.com")


def test_importing_the_providers_loads_no_provider_library() -> None:
    """``stripe`` loads on the first call to Stripe, never with the API (its cold start)."""
    code = "import sys, billing.payments.providers; print('stripe' in sys.modules, 'requests' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert done.stdout.split() == ["False", "False"]
