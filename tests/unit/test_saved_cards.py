"""Saved cards on memory fakes: a card kept from the hosted page once paid, forgotten on
request, and charged off-session when an invoice is finalized (``billing.payments.saved_cards``,
``billing.payments.off_session``): nothing without a card, once per invoice however often the
event comes, a decline recorded failed with its event, a success paid once the provider says so."""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from typing import Any

import pytest

from billing.customers.model import SavedCard
from billing.customers.service import find_customer
from billing.errors import NotFound
from billing.payments.model import Payment, PaymentCreate, Status
from billing.payments.off_session import BalanceLow, OffSessionCharges, charge_id
from billing.payments.providers import CARDS_ON_FILE, ProviderCharge, ProviderError, ProviderEvent, SavedCardCharge
from billing.payments.saved_cards import SavedCards
from billing.payments.service import Payments
from billing.validation import parse
from tests.unit.invoicing_world import SCOPE
from tests.unit.test_checkout import MARCH, FakeProvider, Shop, make_shop


class CardProvider(FakeProvider):
    """The fake card provider, keeping cards: ``charge_saved`` answers ``outcome``."""

    def __init__(self) -> None:
        super().__init__("stripe", "card")
        self.charges: list[SavedCardCharge] = []
        self.outcome: Status = "pending"
        self.refusal: ProviderError | None = None  # raised instead of charging

    def charge_saved(self, credentials: Any, charge: SavedCardCharge) -> ProviderCharge:
        """As Stripe: the same idempotency key gets the first intent back, with other
        parameters it is a 400 (and nothing charged)."""
        if self.refusal is not None:
            raise self.refusal
        first = next((c for c in self.charges if c.idempotency_key == charge.idempotency_key), None)
        if first is not None and first != charge:
            raise ProviderError("stripe", 400, "Keys for idempotent requests can only be used with the same parameters")
        self.charges.append(charge)
        reference = f"pi_{self.charges.index(first or charge) + 1}"
        if first is not None:
            return ProviderCharge(reference, self.truth[reference].status or "pending")
        if self.outcome == "failed":
            return ProviderCharge(reference, "failed", "insufficient_funds", "Your card has insufficient funds.")
        self.report(reference, self.outcome, 0)  # what fetch says now: not yet received
        return ProviderCharge(reference, self.outcome)


class Cards:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.shop: Shop = make_shop(monkeypatch)
        w = self.shop.w
        self.card = CardProvider()
        monkeypatch.setitem(__import__("billing.payments.providers", fromlist=["PROVIDERS"]).PROVIDERS, "stripe",
                            self.card)  # fmt: skip
        monkeypatch.setitem(CARDS_ON_FILE, "stripe", self.card)  # type: ignore[arg-type]
        self.shop.card = self.card
        self.saved = SavedCards(w.customer_repo, w.biller.now)
        customer_of = partial(find_customer, w.customer_repo)
        accounts = self.shop.hosted._providers
        self.payments = Payments(w.payments_repo, w.invoices_repo, customer_of, w.invoices_repo.balances,
                                 w.biller.now, providers=accounts, settings=lambda scope: w.settings,
                                 cards=self.saved)  # fmt: skip
        self.shop.payments = self.payments
        self.charges = OffSessionCharges(w.payments_repo, w.invoices_repo, customer_of, accounts, w.biller.now,
                                         self.payments.apply, lambda scope: w.settings)  # fmt: skip

    def customer(self) -> Any:
        return self.shop.w.customer_repo.get(SCOPE, self.shop.customer)

    def with_card(self) -> None:
        card = SavedCard("stripe", "cus_stripe_1", "pm_1", "visa", "4242", MARCH)
        self.shop.w.customer_repo.rows[(SCOPE, self.shop.customer)] = replace(
            self.customer(), default_payment_method=card
        )

    def customer_events(self) -> list[str]:
        return [event.type for event in self.shop.w.customer_repo.events]

    def payment_events(self) -> list[str]:
        return [event.type for event in self.shop.w.invoices_repo.events if event.type.startswith("Payment")]


@pytest.fixture
def cards(monkeypatch: pytest.MonkeyPatch) -> Cards:
    return Cards(monkeypatch)


def paid_by_card(cards: Cards, save_card: bool) -> Payment:
    """Pay the shop's invoice on the hosted page; the provider reports the card it kept."""
    _, token = cards.shop.session()
    url = cards.shop.hosted.pay(token, "card", cards.shop.hosted.view(token).session.form_token, save_card)
    reference = url.rsplit("/", 1)[1]
    cards.card.report(reference, "succeeded", 1000)
    truth = cards.card.truth[reference]
    cards.card.truth[reference] = replace(truth, customer_reference="cus_stripe_1", payment_method="pm_1",
                                          card_brand="visa", card_last4="4242")  # fmt: skip
    stale = ProviderEvent(id="evt_1", provider="stripe", type="fake", status="pending", occurred_at=MARCH,
                          reference=reference)  # fmt: skip
    applied = cards.payments.apply(SCOPE, "stripe", stale)
    assert applied is not None and applied.status == "succeeded"
    return applied


# ------------------------------------------------------------------ saving and forgetting


def test_a_card_paid_with_save_card_becomes_the_default_once(cards: Cards) -> None:
    payment = paid_by_card(cards, save_card=True)
    request = cards.card.checkouts[payment.provider_reference or ""]
    assert request.save_card and request.customer_reference is None  # the provider creates its customer
    customer = cards.customer()
    assert customer.default_payment_method is not None
    assert customer.to_public()["default_payment_method"] == {"provider": "stripe", "brand": "visa", "last4": "4242"}
    assert customer.provider_customers == {"stripe": "cus_stripe_1"}
    assert "pm_1" not in str(customer.to_public())  # the provider's ids are not shown
    assert cards.customer_events()[-1] == "CustomerUpdated"
    version = customer.version
    stale = ProviderEvent(id="evt_2", provider="stripe", type="fake", status="succeeded", occurred_at=MARCH,
                          reference=payment.provider_reference)  # fmt: skip
    cards.payments.apply(SCOPE, "stripe", stale)  # delivered again: nothing new
    assert cards.customer().version == version


def test_without_the_box_no_card_is_saved(cards: Cards) -> None:
    payment = paid_by_card(cards, save_card=False)
    assert not cards.card.checkouts[payment.provider_reference or ""].save_card
    assert cards.customer().default_payment_method is None and cards.customer_events() == ["CustomerCreated"]


def test_a_card_saved_again_goes_on_the_kept_provider_customer(cards: Cards) -> None:
    cards.with_card()
    cards.shop.w.customer_repo.rows[(SCOPE, cards.shop.customer)] = replace(
        cards.customer(), provider_customers={"stripe": "cus_stripe_1"})  # fmt: skip
    _, token = cards.shop.session()
    url = cards.shop.hosted.pay(token, "card", cards.shop.hosted.view(token).session.form_token, True)
    assert cards.card.checkouts[url.rsplit("/", 1)[1]].customer_reference == "cus_stripe_1"
    plain = cards.shop.hosted.pay(token, "card", cards.shop.hosted.view(token).session.form_token, False)
    assert plain != url  # another attempt: the provider keeps no card for this one


def test_forgetting_clears_the_default_and_keeps_the_provider_customer(cards: Cards) -> None:
    paid_by_card(cards, save_card=True)
    forgotten = cards.saved.forget(SCOPE, cards.shop.customer)
    assert forgotten.default_payment_method is None and forgotten.provider_customers == {"stripe": "cus_stripe_1"}
    assert cards.saved.forget(SCOPE, cards.shop.customer).version == forgotten.version  # nothing to forget
    with pytest.raises(NotFound) as missing:
        cards.saved.forget(SCOPE, "cus_missing")
    assert missing.value.param == "customer_id"


# ------------------------------------------------------------------ charging when finalized


def test_no_card_no_charge(cards: Cards) -> None:
    assert cards.charges.charge(SCOPE, cards.shop.invoice.id) is None
    assert cards.card.charges == [] and cards.shop.w.payments_repo.rows == {}


def test_nothing_due_no_charge(cards: Cards) -> None:
    cards.with_card()
    paid = cards.shop.current().model_copy(update={"status": "paid", "amount_due": 0})
    cards.shop.w.invoices_repo.rows[(SCOPE, paid.id)] = paid
    assert cards.charges.charge(SCOPE, paid.id) is None and cards.card.charges == []
    assert cards.charges.charge(SCOPE, "inv_missing") is None


def test_a_disabled_account_charges_nothing(cards: Cards) -> None:
    cards.with_card()
    cards.shop.hosted._providers.names.remove("stripe")  # type: ignore[attr-defined]
    assert cards.charges.charge(SCOPE, cards.shop.invoice.id) is None and cards.card.charges == []


def test_a_success_is_pending_until_the_provider_confirms_then_pays_the_invoice(cards: Cards) -> None:
    cards.with_card()
    payment = cards.charges.charge(SCOPE, cards.shop.invoice.id)
    assert payment is not None
    assert (payment.status, payment.off_session, payment.amount, payment.invoice, payment.provider_reference) == (
        "pending", True, 1000, cards.shop.invoice.id, "pi_1")  # fmt: skip
    assert payment.id == charge_id(cards.shop.invoice)
    (sent,) = cards.card.charges
    assert (sent.amount, sent.currency, sent.customer_reference, sent.payment_method) == (1000, "USD", "cus_stripe_1",
                                                                                          "pm_1")  # fmt: skip
    assert sent.idempotency_key == f"off_session-{payment.id}" and sent.metadata["invoice"] == cards.shop.invoice.id
    assert cards.shop.current().status == "open"

    webhook = cards.card.report("pi_1", "succeeded", 1000)  # payment_intent.succeeded, checked by fetch
    settled = cards.payments.apply(SCOPE, "stripe", webhook)
    assert settled is not None and (settled.status, settled.amount_received) == ("succeeded", 1000)
    assert (cards.shop.current().status, cards.shop.current().amount_due) == ("paid", 0)
    assert cards.payment_events() == ["PaymentSucceeded"]


def test_an_event_delivered_twice_charges_once(cards: Cards) -> None:
    cards.with_card()
    first = cards.charges.charge(SCOPE, cards.shop.invoice.id)
    again = cards.charges.charge(SCOPE, cards.shop.invoice.id)
    assert first is not None and again is not None and again.id == first.id
    assert len(cards.card.charges) == 1 and len(cards.shop.w.payments_repo.rows) == 1


def test_two_deliveries_at_once_record_one_payment(cards: Cards) -> None:
    """Both ask the provider (the same idempotency key: one charge there); one write wins."""
    cards.with_card()
    repo = cards.shop.w.payments_repo
    real_get, misses = repo.get, [True]

    def first_read_misses(scope: Any, payment_id: str) -> Any:
        if misses:  # the other delivery has not written yet when this one looks
            misses.pop()
            cards.charges.charge(SCOPE, cards.shop.invoice.id)
            return None
        return real_get(scope, payment_id)

    repo.get = first_read_misses  # type: ignore[method-assign]
    payment = cards.charges.charge(SCOPE, cards.shop.invoice.id)
    assert payment is not None and len(repo.rows) == 1
    assert {charge.idempotency_key for charge in cards.card.charges} == {f"off_session-{payment.id}"}


def test_a_decline_is_recorded_failed_with_its_reason_and_event(cards: Cards) -> None:
    cards.with_card()
    cards.card.outcome = "failed"
    payment = cards.charges.charge(SCOPE, cards.shop.invoice.id)
    assert payment is not None
    assert (payment.status, payment.failure_code, payment.off_session) == ("failed", "insufficient_funds", True)
    assert payment.failure_message == "Your card has insufficient funds."
    assert cards.payment_events() == ["PaymentFailed"]
    assert (cards.shop.current().status, cards.shop.current().amount_due) == ("open", 1000)
    assert cards.shop.w.invoices_repo.journal(SCOPE, cards.shop.customer)[-1].kind != "payment_received"
    assert cards.charges.charge(SCOPE, cards.shop.invoice.id) == payment  # not again: collections retry
    assert len(cards.card.charges) == 1


def test_dunning_retries_a_declined_card_once_per_step(cards: Cards) -> None:
    cards.with_card()
    cards.card.outcome = "failed"
    declined = cards.charges.charge(SCOPE, cards.shop.invoice.id)
    assert declined is not None and declined.status == "failed"
    cards.card.outcome = "succeeded"
    retried = cards.charges.charge(SCOPE, cards.shop.invoice.id, attempt="retry3")
    assert retried is not None and retried.id != declined.id and retried.status == "pending"
    assert retried.id == charge_id(cards.shop.invoice, "retry3")
    assert cards.charges.charge(SCOPE, cards.shop.invoice.id, attempt="retry3") == retried  # redelivered: once
    assert len(cards.card.charges) == 2


def test_a_retry_waits_while_the_first_charge_is_pending(cards: Cards) -> None:
    cards.with_card()
    first = cards.charges.charge(SCOPE, cards.shop.invoice.id)
    assert first is not None and first.status == "pending"
    assert cards.charges.charge(SCOPE, cards.shop.invoice.id, attempt="retry3") == first
    assert len(cards.card.charges) == 1


def test_a_charge_refused_outright_is_failed_not_left_pending_and_an_outage_is_retried(cards: Cards) -> None:
    cards.with_card()
    cards.card.refusal = ProviderError("stripe", 503, "Stripe is unavailable")
    with pytest.raises(ProviderError):  # the message is delivered again
        cards.charges.charge(SCOPE, cards.shop.invoice.id)
    cards.card.refusal = ProviderError("stripe", 400, "No such PaymentMethod: 'pm_1'")
    payment = cards.charges.charge(SCOPE, cards.shop.invoice.id)
    assert payment is not None and (payment.status, payment.failure_code) == ("failed", "provider_refused")
    assert payment.provider_reference is None and "No such PaymentMethod" in (payment.failure_message or "")
    assert cards.payment_events() == ["PaymentFailed"]
    assert (cards.shop.current().status, cards.shop.current().amount_due) == ("open", 1000)
    assert cards.charges.charge(SCOPE, cards.shop.invoice.id) == payment  # settled: not charged again


def test_the_finalized_event_routed_to_the_queue_names_the_invoice() -> None:
    import json

    from billing.adapters import finalized_invoices
    from billing.scope import Scope

    envelope = {
        "id": "evt_1",
        "type": "InvoiceFinalized",
        "tenant_id": "ten_a",
        "livemode": True,
        "occurred_at": "2026-03-01T00:00:00Z",
        "data": {"object": {"id": "inv_1", "amount_due": 1500}},
    }
    routed = {"version": "0", "detail-type": "InvoiceFinalized", "source": "billing.platform", "detail": envelope}
    assert finalized_invoices.parse(json.dumps(routed)) == finalized_invoices.FinalizedInvoice(
        Scope("ten_a", livemode=True), "inv_1", "evt_1")  # fmt: skip
    retry = {**envelope, "type": "InvoicePaymentRetried", "data": {**envelope["data"], "days_after_due": 3}}
    assert finalized_invoices.parse(json.dumps({**routed, "detail": retry})).attempt == "retry3"


def test_a_charge_whose_record_was_lost_is_charged_again_for_the_same_amount(cards: Cards) -> None:
    """The card is charged, the process stops before the charge is attached, the invoice's
    ``amount_due`` changes (a partial payment), the event comes again: the same key and the
    same amount, so Stripe gives its first intent back; the money is recorded once."""
    cards.with_card()
    repo = cards.shop.w.payments_repo
    real = repo.record

    def stop_after_the_charge(*args: Any, **kwargs: Any) -> None:
        if cards.card.charges:  # the first write after the card was charged never happens
            raise TimeoutError("stopped")
        real(*args, **kwargs)

    repo.record = stop_after_the_charge  # type: ignore[method-assign]
    with pytest.raises(TimeoutError):
        cards.charges.charge(SCOPE, cards.shop.invoice.id)
    repo.record = real  # type: ignore[method-assign]
    offline = {"customer": cards.shop.customer, "amount": 300, "currency": "USD", "channel": "cash_desk",
               "invoice": cards.shop.invoice.id}  # fmt: skip
    cards.payments.record(SCOPE, parse(PaymentCreate, offline))
    assert cards.shop.current().amount_due == 700
    payment = cards.charges.charge(SCOPE, cards.shop.invoice.id)
    assert payment is not None and (payment.amount, payment.provider_reference) == (1000, "pi_1")
    assert {(c.idempotency_key, c.amount) for c in cards.card.charges} == {(f"off_session-{payment.id}", 1000)}
    settled = cards.payments.apply(SCOPE, "stripe", cards.card.report("pi_1", "succeeded", 1000))
    assert settled is not None and (settled.status, settled.credited) == ("succeeded", 300)
    assert (cards.shop.current().status, cards.shop.current().amount_due) == ("paid", 0)


def test_a_charge_never_attached_is_found_by_its_metadata_when_stripe_reports_it(cards: Cards) -> None:
    """The process stops for good after the charge: ``payment_intent.succeeded`` names no
    reference of ours, but its intent's metadata names our payment, which it settles."""
    cards.with_card()
    repo = cards.shop.w.payments_repo
    real = repo.record

    def stop_after_the_charge(*args: Any, **kwargs: Any) -> None:
        if cards.card.charges:
            raise TimeoutError("stopped")
        real(*args, **kwargs)

    repo.record = stop_after_the_charge  # type: ignore[method-assign]
    with pytest.raises(TimeoutError):
        cards.charges.charge(SCOPE, cards.shop.invoice.id)
    repo.record = real  # type: ignore[method-assign]
    pending = repo.get(SCOPE, charge_id(cards.shop.invoice))
    assert pending is not None and (pending.status, pending.provider_reference) == ("pending", None)
    cards.card.report("pi_1", "succeeded", 1000)
    cards.card.truth["pi_1"] = replace(cards.card.truth["pi_1"], payment=pending.id)
    webhook = ProviderEvent(id="evt_pi", provider="stripe", type="payment_intent.succeeded", status="succeeded",
                            occurred_at=MARCH, payment_reference="pi_1", payment=pending.id)  # fmt: skip
    settled = cards.payments.apply(SCOPE, "stripe", webhook)
    assert settled is not None and (settled.status, settled.amount_received) == ("succeeded", 1000)
    assert (cards.shop.current().status, cards.shop.current().amount_due) == ("paid", 0)
    assert cards.charges.charge(SCOPE, cards.shop.invoice.id) is None and len(cards.card.charges) == 1
    other = replace(webhook, payment="pay_someone_else", payment_reference="pi_9")
    assert cards.payments.apply(SCOPE, "stripe", other) is None  # no such payment of ours


# ------------------------------------------------------------------ automatic top-ups


def low_balance(cards: Cards, event_id: str = "evt_low_1") -> BalanceLow:
    return BalanceLow(SCOPE, cards.shop.customer, event_id, MARCH)


def prepaid(cards: Cards, top_up: int | None = 5000) -> None:
    """The shop's customer made prepaid, with a card, and the tenant's automatic top-up."""
    cards.with_card()
    customer = cards.customer()
    cards.shop.w.customer_repo.rows[(SCOPE, customer.id)] = replace(customer, billing_mode="prepaid")
    cards.shop.w.settings = cards.shop.w.settings.model_copy(update={"prepaid_auto_top_up": top_up})


def test_a_low_balance_tops_up_the_saved_card_once_per_crossing(cards: Cards) -> None:
    prepaid(cards)
    payment = cards.charges.top_up(SCOPE, low_balance(cards))
    assert payment is not None
    assert (payment.status, payment.off_session, payment.amount, payment.currency, payment.invoice) == (
        "pending", True, 5000, "USD", None)  # fmt: skip
    assert cards.charges.top_up(SCOPE, low_balance(cards)) == payment  # the event delivered again
    (sent,) = cards.card.charges
    assert (sent.amount, sent.payment_method, sent.idempotency_key) == (5000, "pm_1", f"off_session-{payment.id}")
    settled = cards.payments.apply(SCOPE, "stripe", cards.card.report("pi_1", "succeeded", 5000))
    assert settled is not None and (settled.status, settled.credited) == ("succeeded", 5000)  # all of it credit
    second = cards.charges.top_up(SCOPE, low_balance(cards, "evt_low_2"))  # the next crossing: a new payment
    assert second is not None and second.id != payment.id and len(cards.card.charges) == 2


def test_no_automatic_top_up_without_an_amount_a_card_or_a_prepaid_customer(cards: Cards) -> None:
    prepaid(cards, top_up=None)
    assert cards.charges.top_up(SCOPE, low_balance(cards)) is None
    prepaid(cards)
    customer = cards.customer()
    cards.shop.w.customer_repo.rows[(SCOPE, customer.id)] = replace(customer, billing_mode="postpaid")
    assert cards.charges.top_up(SCOPE, low_balance(cards)) is None
    cards.shop.w.customer_repo.rows[(SCOPE, customer.id)] = replace(customer, default_payment_method=None)
    assert cards.charges.top_up(SCOPE, low_balance(cards)) is None
    assert cards.card.charges == []


def test_the_low_balance_event_routed_to_the_queue_names_the_customer() -> None:
    import json
    from datetime import UTC, datetime

    from billing.adapters import finalized_invoices
    from billing.scope import Scope

    envelope = {"id": "evt_9", "type": "CustomerBalanceLow", "tenant_id": "ten_a", "livemode": False,
                "occurred_at": "2026-03-01T00:00:00Z",
                "data": {"customer": "cus_1", "currency": "USD", "balance": 40, "threshold": 50}}  # fmt: skip
    routed = json.dumps({"detail-type": "CustomerBalanceLow", "source": "billing.platform", "detail": envelope})
    assert finalized_invoices.kind(routed) == finalized_invoices.BALANCE_LOW
    assert finalized_invoices.parse_balance_low(routed) == BalanceLow(
        Scope("ten_a", livemode=False), "cus_1", "evt_9", datetime(2026, 3, 1, tzinfo=UTC))  # fmt: skip
