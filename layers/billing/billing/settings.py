"""Environment read once, at cold start, into a validated settings model."""

from __future__ import annotations

import os
from functools import lru_cache
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Settings(BaseModel):
    """What every function needs to reach its resources (names come from template.yaml)."""

    model_config = ConfigDict(defer_build=True)

    table_name: str = Field(min_length=1)
    usage_table_name: str | None = None
    event_bus_name: str | None = None
    plan_migration_queue_url: str | None = None
    invoice_run_queue_url: str | None = None
    usage_dead_letter_queue_url: str | None = None  # the usage stream mapping's on-failure queue
    documents_bucket: str | None = None
    region: str = "us-east-1"
    endpoint_url: str | None = None
    public_base_url: str | None = None
    """Where customers reach the platform (``https://billing.example.com``): links in documents
    (an invoice's "Pay online") are built on it, never on a request's ``Host`` header. Unset, no
    link is printed."""

    @field_validator("public_base_url")
    @classmethod
    def _absolute_http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        url = urlsplit(value)
        if url.scheme not in ("http", "https") or not url.netloc or url.query or url.fragment:
            raise ValueError(f"PUBLIC_BASE_URL must be an http(s) URL without query or fragment, not {value!r}")
        return value.rstrip("/")

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        return cls(
            table_name=env.get("BILLING_TABLE", ""),
            usage_table_name=env.get("USAGE_TABLE") or None,
            event_bus_name=env.get("EVENT_BUS_NAME") or None,
            plan_migration_queue_url=env.get("PLAN_MIGRATION_QUEUE_URL") or None,
            invoice_run_queue_url=env.get("INVOICE_RUN_QUEUE_URL") or None,
            usage_dead_letter_queue_url=env.get("USAGE_DEAD_LETTER_QUEUE_URL") or None,
            documents_bucket=env.get("DOCUMENTS_BUCKET") or None,
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
            endpoint_url=env.get("AWS_ENDPOINT_URL") or None,
            public_base_url=env.get("PUBLIC_BASE_URL") or None,
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env()
