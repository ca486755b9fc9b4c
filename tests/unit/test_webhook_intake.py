"""Webhook intake and the provider event processor: verify -> store once -> queue -> process once;
everything refused writes nothing."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from billing.errors import InvalidRequest
from billing.payments.accounts import ProviderAccount, ProviderAccounts
from billing.payments.provider_events import EventRef, ProviderEventProcessor, subject
from billing.payments.providers import ProviderEvent
from billing.payments.webhooks import WebhookIntake
from billing.scope import Scope
from tests.unit.clock import FrozenClock
from tests.unit.fakes import FakeCipher, MemoryEventQueue, MemoryProviderAccounts, MemoryProviderEvents
from tests.unit.test_provider_coinbase_commerce import BODY as CHARGE_CONFIRMED
from tests.unit.test_provider_coinbase_commerce import sign
from tests.unit.test_provider_stripe import BODY as SESSION_COMPLETED
from tests.unit.test_provider_stripe import NOW, signed

SCOPE = Scope("ten_a", livemode=False)
STRIPE = {"api_key": "sk_test_51Nf0abcdefghijklmnop4242", "webhook_secret": "whsec_current"}
COINBASE = {"api_key": "cb-key-0123456789", "webhook_secret": "shared-secret"}


class Applied:
    """The processor's handler: which events it was given."""

    def __init__(self) -> None:
        self.events: list[str] = []

    def apply(self, scope: Scope, provider: str, event: ProviderEvent) -> None:
        self.events.append(event.id)


class World:
    def __init__(self) -> None:
        self.clock = FrozenClock(NOW)
        self.accounts = ProviderAccounts(MemoryProviderAccounts(), FakeCipher(), self.clock)
        self.store, self.queue = MemoryProviderEvents(), MemoryEventQueue()
        self.intake = WebhookIntake(self.accounts.endpoint, self.accounts.credentials, self.store, self.queue,
                                    self.clock)  # fmt: skip
        self.applied = Applied()
        self.processor = ProviderEventProcessor(self.store, self.applied, self.clock)
        self.stripe = self.accounts.configure(SCOPE, "stripe", STRIPE)
        self.coinbase = self.accounts.configure(SCOPE, "coinbase_commerce", COINBASE)

    def drain(self) -> int:
        handled = 0
        while self.queue.messages:
            ref, _ = self.queue.messages.pop(0)
            handled += self.processor.process(ref)
        return handled


@pytest.fixture
def world() -> World:
    return World()


def refused(world: World, provider: str, account: ProviderAccount | str, body: bytes, headers: dict[str, str]) -> str:
    endpoint_id = account if isinstance(account, str) else account.endpoint_id
    with pytest.raises(InvalidRequest) as refusal:
        world.intake.receive(provider, endpoint_id, body, headers)
    assert world.store.rows == {} and world.queue.messages == []
    return refusal.value.code


def test_a_verified_event_is_stored_raw_queued_and_processed_once(world: World) -> None:
    headers = signed(SESSION_COMPLETED, "whsec_current")
    receipt = world.intake.receive("stripe", world.stripe.endpoint_id, SESSION_COMPLETED, headers)
    assert receipt.to_public() == {"object": "webhook_receipt", "event": "evt_1", "duplicate": False}
    ref = EventRef(SCOPE, "stripe", "evt_1")
    assert world.store.raw[ref] == SESSION_COMPLETED and world.store.rows[ref].state == "received"
    assert world.queue.messages == [(ref, "chk_1")]  # grouped by our checkout session
    assert world.drain() == 1
    assert world.store.rows[ref].state == "processed" and world.applied.events == ["evt_1"]
    assert world.processor.process(ref) is False  # a message delivered again changes nothing
    assert world.applied.events == ["evt_1"]


def test_five_deliveries_store_one_event_queue_one_message_and_process_it_once(world: World) -> None:
    headers = sign(CHARGE_CONFIRMED)
    receipts = [world.intake.receive("coinbase_commerce", world.coinbase.endpoint_id, CHARGE_CONFIRMED, headers)
                for _ in range(5)]  # fmt: skip
    assert [r.duplicate for r in receipts] == [False, True, True, True, True]
    assert len(world.store.rows) == 1 and len(world.queue.messages) == 1
    assert world.drain() == 1
    again = world.intake.receive("coinbase_commerce", world.coinbase.endpoint_id, CHARGE_CONFIRMED, headers)
    assert again.duplicate and world.queue.messages == []  # processed: acknowledged, not queued


def test_a_redelivery_queues_an_event_stored_but_never_queued(world: World) -> None:
    """The intake crashed between its write and its send: the provider got no 200 and sends
    the event again, which queues it."""
    event = ProviderEvent(id="evt-1", provider="coinbase_commerce", type="charge:confirmed", status=None,
                          occurred_at=NOW)  # fmt: skip
    world.store.add(EventRef(SCOPE, "coinbase_commerce", "evt-1"), event, CHARGE_CONFIRMED, NOW)
    world.intake.receive("coinbase_commerce", world.coinbase.endpoint_id, CHARGE_CONFIRMED, sign(CHARGE_CONFIRMED))
    assert len(world.queue.messages) == 1 and world.drain() == 1


def test_unknown_disabled_and_mismatched_endpoints_are_refused(world: World) -> None:
    body, headers = CHARGE_CONFIRMED, sign(CHARGE_CONFIRMED)
    unknown = "we_" + "0" * 26
    for provider, endpoint in [("coinbase_commerce", unknown), ("coinbase_commerce", "nonsense"),
                               ("stripe", world.coinbase), ("paypal", world.coinbase)]:  # fmt: skip
        assert refused(world, provider, endpoint, body, headers) == "webhook_endpoint_unknown"
    world.accounts.disable(SCOPE, "coinbase_commerce")
    assert refused(world, "coinbase_commerce", world.coinbase, body, headers) == "webhook_endpoint_unknown"


def test_missing_forged_and_stale_signatures_are_refused(world: World) -> None:
    assert refused(world, "coinbase_commerce", world.coinbase, CHARGE_CONFIRMED, {}) == "signature_missing"
    forged = sign(CHARGE_CONFIRMED, "not-the-secret")
    assert refused(world, "coinbase_commerce", world.coinbase, CHARGE_CONFIRMED, forged) == "signature_forged"
    tampered = CHARGE_CONFIRMED.replace(b"12.50", b"99.50")
    assert refused(world, "coinbase_commerce", world.coinbase, tampered, sign(CHARGE_CONFIRMED)) == "signature_forged"
    old = signed(SESSION_COMPLETED, "whsec_current", at=NOW - timedelta(seconds=301))
    assert refused(world, "stripe", world.stripe, SESSION_COMPLETED, old) == "signature_stale"


def test_a_rotated_secret_verifies_at_the_same_endpoint(world: World) -> None:
    world.accounts.configure(SCOPE, "stripe", {**STRIPE, "webhook_secret": "whsec_next"})
    old = signed(SESSION_COMPLETED, "whsec_current")
    assert refused(world, "stripe", world.stripe, SESSION_COMPLETED, old) == "signature_forged"
    receipt = world.intake.receive("stripe", world.stripe.endpoint_id, SESSION_COMPLETED,
                                   signed(SESSION_COMPLETED, "whsec_current", "whsec_next"))  # fmt: skip
    assert not receipt.duplicate


def test_events_of_one_checkout_share_a_subject() -> None:
    base = ProviderEvent(id="evt_9", provider="stripe", type="x", status=None, occurred_at=NOW)
    assert subject(base) == "evt_9"
    assert subject(replace(base, payment_reference="pi_1")) == "pi_1"
    assert subject(replace(base, reference="cs_1", payment_reference="pi_1")) == "cs_1"
    assert subject(replace(base, checkout_session="chk_1", reference="cs_1")) == "chk_1"
