"""AWS clients, built from the settings in force (the standard AWS environment).

A client is built once per service, region and endpoint and then reused, so a warm Lambda
container keeps its connections. Keying on the endpoint means a process whose endpoint
changes (the embedded stack started again, as tests and benchmarks do) gets clients of the
new endpoint, never one still pointing at the old one. Every AWS client of the billing code
comes from here.

Clients are botocore's, from one botocore session, as boto3 builds them; boto3 itself is not
imported, as it would load ``s3transfer`` and its resource layer at every cold start.
"""

from __future__ import annotations

import threading
from functools import cache
from typing import Any

from botocore.config import Config
from botocore.session import Session

from billing.settings import get_settings

# Standard retries (with backoff on throttling); connections for the API's request threads.
_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, max_pool_connections=50)

_clients: dict[tuple[str, str, str | None], Any] = {}
_lock = threading.Lock()


@cache
def _session() -> Session:
    """The process's botocore session (credentials and configuration from the environment)."""
    return Session()


def client(service: str) -> Any:
    """The client of ``service`` (``"dynamodb"``, ``"sqs"``...) for the current endpoint."""
    settings = get_settings()
    key = (service, settings.region, settings.endpoint_url)
    found = _clients.get(key)
    if found is None:
        with _lock:  # a botocore session is not safe to build clients from concurrently
            found = _clients.get(key)
            if found is None:
                found = _clients[key] = _session().create_client(
                    service, region_name=settings.region, endpoint_url=settings.endpoint_url, config=_CONFIG
                )
    return found
