"""The environment, read into validated settings models.

Each function has a model of its own (a ``FunctionSettings`` next to its handler) naming only
the variables that function needs, and loads it at module level: Lambda's init then fails,
naming the variable, when one is missing or malformed, instead of the first request that
reads it. ``template.yaml`` gives each function exactly those variables (a contract test
holds them equal). The adapters read ``Settings``, every variable any function may be given,
built once from the same environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import lru_cache
from typing import Annotated, Self
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError


def _public_base_url(value: str) -> str:
    url = urlsplit(value)
    if url.scheme not in ("http", "https") or not url.netloc or url.query or url.fragment:
        raise ValueError(f"PUBLIC_BASE_URL must be an http(s) URL without query or fragment, not {value!r}")
    return value.rstrip("/")


ResourceName = Annotated[str, Field(min_length=1, max_length=256, pattern=r"^[A-Za-z0-9._/-]+$")]
"""A table, bucket or event bus name, as ``!Ref`` gives it."""

QueueUrl = Annotated[str, Field(pattern=r"^https?://[^/?#\s]+/[0-9]{12}/[A-Za-z0-9_-]{1,80}(\.fifo)?$")]
"""An SQS queue URL, as ``!Ref`` gives it (``https://sqs.<region>.amazonaws.com/<account>/<name>``)."""

EmailAddress = Annotated[str, Field(max_length=254, pattern=r"^[^@\s<>\"(),;:]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")]
"""A plain email address (``notifications@billing.example.com``), no display name."""


def _api_base_url(value: str) -> str:
    url = urlsplit(value)
    if url.scheme not in ("http", "https") or not url.netloc or url.query or url.fragment:
        raise ValueError(f"a provider's API base must be an http(s) URL without query or fragment, not {value!r}")
    return value.rstrip("/")


ApiBaseUrl = Annotated[str, AfterValidator(_api_base_url)]
"""Where a payment provider's API is (``STRIPE_API_BASE`` ...): platform configuration, never a
tenant's input (a tenant naming the URL could send our calls, with its credentials, anywhere).
Production's by default; the local stack points them at its stand-ins."""

PublicBaseUrl = Annotated[str, AfterValidator(_public_base_url)]
"""Where customers reach the platform (``https://billing.example.com``): links in documents
(an invoice's "Pay online") are built on it, never on a request's ``Host`` header. Unset, no
link is printed."""


class Settings(BaseModel):
    """What the adapters read to reach their resources (names come from template.yaml); each
    function is given only some of them, so an adapter that finds its own missing says which."""

    model_config = ConfigDict(defer_build=True)

    table_name: str | None = None
    usage_table_name: str | None = None
    event_bus_name: str | None = None
    plan_migration_queue_url: str | None = None
    invoice_run_queue_url: str | None = None
    dunning_queue_url: str | None = None  # one message per tenant, mode and shard of a daily run
    usage_dead_letter_queue_url: str | None = None  # the usage stream mapping's on-failure queue
    documents_bucket: str | None = None
    provider_credentials_key: str | None = None  # the KMS key that seals payment provider credentials
    provider_event_queue_url: str | None = None  # verified provider webhooks, to be processed
    webhook_secrets_key: str | None = None  # the KMS key that seals outbound webhooks' signing secrets
    webhook_delivery_queue_url: str | None = None  # one message per outbound webhook delivery
    notification_queue_url: str | None = None  # the events customers are notified of
    notification_sender: str | None = None  # the platform's verified SES sender address
    # Platform configuration for local development only (never a tenant's, never set by the
    # template): networks outbound webhooks may reach beside public addresses, e.g.
    # "127.0.0.1/32"; when set, http:// endpoints are taken too (billing.webhooks_out.addresses).
    outbound_webhook_allowed_networks: str | None = None
    region: str = "us-east-1"
    endpoint_url: str | None = None
    public_base_url: PublicBaseUrl | None = None
    stripe_api_base: ApiBaseUrl = "https://api.stripe.com"
    whitepay_api_base: ApiBaseUrl = "https://api.whitepay.com"
    coinbase_commerce_api_base: ApiBaseUrl = "https://api.commerce.coinbase.com"

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        return cls(
            table_name=env.get("BILLING_TABLE") or None,
            usage_table_name=env.get("USAGE_TABLE") or None,
            event_bus_name=env.get("EVENT_BUS_NAME") or None,
            plan_migration_queue_url=env.get("PLAN_MIGRATION_QUEUE_URL") or None,
            invoice_run_queue_url=env.get("INVOICE_RUN_QUEUE_URL") or None,
            dunning_queue_url=env.get("DUNNING_QUEUE_URL") or None,
            usage_dead_letter_queue_url=env.get("USAGE_DEAD_LETTER_QUEUE_URL") or None,
            documents_bucket=env.get("DOCUMENTS_BUCKET") or None,
            provider_credentials_key=env.get("PROVIDER_CREDENTIALS_KEY") or None,
            provider_event_queue_url=env.get("PROVIDER_EVENT_QUEUE_URL") or None,
            webhook_secrets_key=env.get("WEBHOOK_SECRETS_KEY") or None,
            webhook_delivery_queue_url=env.get("WEBHOOK_DELIVERY_QUEUE_URL") or None,
            notification_queue_url=env.get("NOTIFICATION_QUEUE_URL") or None,
            notification_sender=env.get("NOTIFICATION_SENDER") or None,
            outbound_webhook_allowed_networks=env.get("OUTBOUND_WEBHOOK_ALLOWED_NETWORKS") or None,
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
            endpoint_url=env.get("AWS_ENDPOINT_URL") or None,
            public_base_url=env.get("PUBLIC_BASE_URL") or None,
            **{
                field: env[field.upper()]
                for field in ("stripe_api_base", "whitepay_api_base", "coinbase_commerce_api_base")
                if env.get(field.upper())
            },
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env()


class SettingsError(RuntimeError):
    """A function's environment lacks a variable it needs, or has one it cannot use."""


def required(value: str | None, variable: str) -> str:
    """``value``, read from ``variable``, which the calling code cannot do without."""
    if not value:
        raise SettingsError(f"{variable} is not set (template.yaml sets it for the functions that need it)")
    return value


class FunctionSettings(BaseModel):
    """Base of each function's own settings: a field per variable, named as the variable in
    lower case (``billing_table`` is ``BILLING_TABLE``), with one of the types above."""

    model_config = ConfigDict(alias_generator=str.upper, extra="ignore", frozen=True, defer_build=True)

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None) -> Self:
        """The function's settings from ``environ`` (the process environment); an empty
        variable counts as unset, as CloudFormation gives an empty parameter."""
        given = {name: value for name, value in (os.environ if environ is None else environ).items() if value}
        try:
            return cls.model_validate(given)
        except ValidationError as invalid:
            problems = [
                f"{error['loc'][0]} is not set" if error["type"] == "missing" else f"{error['loc'][0]}: {error['msg']}"
                for error in invalid.errors(include_url=False)
            ]
            raise SettingsError(f"{cls.__name__} (template.yaml): {'; '.join(problems)}") from None

    @classmethod
    def variables(cls) -> frozenset[str]:
        """The environment variables this function reads."""
        return frozenset(field.alias or name.upper() for name, field in cls.model_fields.items())
