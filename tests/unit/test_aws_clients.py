"""AWS clients follow the endpoint in force: a process whose endpoint changes (the embedded stack
started again, as ``make bench`` does for each benchmark) never keeps a client of the old one.
Building a client makes no request, so these tests need no network."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from billing.adapters import aws
from billing.settings import get_settings

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Point the settings at an endpoint with ``use(url)``; the environment is restored after."""
    yield monkeypatch
    monkeypatch.undo()
    get_settings.cache_clear()


def use(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    """What the embedded stack does when it starts: a new environment, settings read again."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("BILLING_TABLE", "billing")
    get_settings.cache_clear()


@pytest.mark.parametrize("service", ["dynamodb", "sqs", "s3", "events"])
def test_a_client_is_of_the_endpoint_in_force_and_reused_for_it(endpoint: pytest.MonkeyPatch, service: str) -> None:
    use(endpoint, "http://127.0.0.1:4001")
    first = aws.client(service)
    assert first.meta.endpoint_url == "http://127.0.0.1:4001"
    assert aws.client(service) is first  # a warm container keeps its client (and connections)

    use(endpoint, "http://127.0.0.1:4002")  # the first emulator stopped, another one started
    second = aws.client(service)
    assert second.meta.endpoint_url == "http://127.0.0.1:4002"

    use(endpoint, "http://127.0.0.1:4001")
    assert aws.client(service) is first


def test_the_region_in_force_is_used(endpoint: pytest.MonkeyPatch) -> None:
    use(endpoint, "http://127.0.0.1:4003")
    endpoint.setenv("AWS_REGION", "eu-west-1")
    get_settings.cache_clear()
    assert aws.client("sqs").meta.region_name == "eu-west-1"


def test_only_the_client_factory_builds_aws_clients() -> None:
    """A client built and cached anywhere else would keep the endpoint it was built for."""
    building = re.compile(r"\bboto3\.(client|resource|Session)\(|\bfrom boto3 import|\bcreate_client\(|\bSession\(")
    sources = [*(REPO / "layers" / "billing" / "billing").rglob("*.py"), *(REPO / "functions").rglob("*.py")]
    offenders = [
        str(path.relative_to(REPO))
        for path in sources
        if path != REPO / "layers/billing/billing/adapters/aws.py" and building.search(path.read_text())
    ]
    assert sources and offenders == []
