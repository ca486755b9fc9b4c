"""Two embedded stacks one after the other in one process both work, as in ``make bench``
(each benchmark starts its own emulator): nothing keeps talking to the stopped one."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from billing.adapters import services
from billing.invoicing.runs import RunRequest
from billing.scope import Scope
from billing.settings import get_settings
from infra.local.stack import EmbeddedStack, StackConfig
from tests.conftest import free_port
from tests.integration.conftest import Api
from tests.integration.test_outbox import _capture_bus, _received


@pytest.fixture
def session_environment(stack: EmbeddedStack) -> Iterator[None]:
    """The session stack's environment, given back to the other tests afterwards."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)
    get_settings.cache_clear()


def _work(stack: EmbeddedStack) -> None:
    """A customer through the API (DynamoDB, then the stream publisher puts its event on the bus)
    and an invoice run (its messages go through SQS to the run worker)."""
    assert stack.plumbing is not None
    tenant, key = services.tenants().create_tenant("Restarted")
    bus = _capture_bus(stack, "CustomerCreated")
    customer = Api(stack).post("/v1/customers", key.secret, {"name": "Again"}).body
    run = services.invoice_runs().start(Scope(tenant.id, livemode=False), RunRequest(), trigger="api")
    stack.plumbing.drain()
    assert customer["id"] in [m["detail"]["data"]["object"]["id"] for m in _received(bus)]
    assert services.invoice_runs().get(Scope(tenant.id, livemode=False), run.id).status == "completed"


@pytest.mark.usefixtures("session_environment")
def test_a_stack_started_after_another_one_stopped_works() -> None:
    for _ in range(2):
        config = StackConfig(emulator_port=free_port(), api_port=free_port(), stack_name=f"re-{uuid.uuid4().hex[:8]}")
        embedded = EmbeddedStack(config)
        embedded.start_emulator()
        try:
            embedded.provision()
            _work(embedded)
        finally:
            embedded.stop()
