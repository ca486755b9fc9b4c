"""Reversals the provider reports only through the object that carries them, applied through
``Payments.apply`` with the real provider modules' ``fetch`` (their HTTP faked): a Stripe
dispute lost takes the money back like a refund without a credit note (the invoice owed
again, reversing entries, status ``disputed``), a dispute won changes nothing, and a Whitepay
overpayment's excess returned to the payer (``rollback::to_client``) takes back the customer
credit it had become. Each report applied again changes nothing."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from billing import ledger
from billing.payments.model import Payment
from billing.payments.providers import PROVIDERS, stripe, whitepay
from tests.unit.invoicing_world import SCOPE
from tests.unit.test_checkout import MARCH, Shop, check_invariants, entries, make_shop


class Answer(dict[str, Any]):
    """What the ``stripe`` library answers: an object with ``to_dict``."""

    def to_dict(self) -> dict[str, Any]:
        return dict(self)


class FakeStripe:
    """Stripe's API as ``StripeClient.v1`` serves it, from objects a test sets by id."""

    def __init__(self) -> None:
        self.objects: dict[str, dict[str, Any]] = {}
        self.disputes: list[dict[str, Any]] = []
        self.listed: list[dict[str, Any]] = []  # the params of each disputes.list call
        get = self.retrieve
        self.v1 = SimpleNamespace(
            checkout=SimpleNamespace(sessions=SimpleNamespace(retrieve=get)),
            payment_intents=SimpleNamespace(retrieve=get),
            charges=SimpleNamespace(retrieve=get),
            payment_methods=SimpleNamespace(retrieve=get),
            disputes=SimpleNamespace(list=self.list_disputes),
        )

    def retrieve(self, object_id: str) -> Answer:
        return Answer(self.objects[object_id])

    def list_disputes(self, params: dict[str, Any]) -> Answer:
        self.listed.append(params)
        return Answer(object="list", data=[d for d in self.disputes if d["charge"] == params["charge"]])

    def paid(self, session: str, amount: int) -> None:
        """A Checkout Session paid by card: its PaymentIntent ``pi_1`` and charge ``ch_1``."""
        self.objects[session] = {"id": session, "object": "checkout.session", "status": "complete",
                                 "payment_status": "paid", "payment_intent": "pi_1", "amount_total": amount,
                                 "currency": "usd", "metadata": {}}  # fmt: skip
        self.objects["pi_1"] = {"id": "pi_1", "object": "payment_intent", "status": "succeeded", "amount": amount,
                                "amount_received": amount, "latest_charge": "ch_1", "currency": "usd"}  # fmt: skip
        self.objects["ch_1"] = {"id": "ch_1", "object": "charge", "amount": amount, "amount_captured": amount,
                                "amount_refunded": 0, "disputed": False, "currency": "usd",
                                "payment_intent": "pi_1"}  # fmt: skip

    def dispute(self, status: str, amount: int) -> dict[str, Any]:
        """The charge disputed (Stripe opens one dispute per charge); the dispute as it is now."""
        self.objects["ch_1"]["disputed"] = True
        self.disputes[:] = [{"id": "dp_1", "object": "dispute", "charge": "ch_1", "payment_intent": "pi_1",
                             "amount": amount, "currency": "usd", "status": status}]  # fmt: skip
        return self.disputes[0]


@pytest.fixture
def shop(monkeypatch: pytest.MonkeyPatch) -> Shop:
    return make_shop(monkeypatch)


def card_paid(shop: Shop, monkeypatch: pytest.MonkeyPatch) -> tuple[FakeStripe, Payment]:
    """The invoice (1,000) paid on a Stripe Checkout Session, confirmed by the real module's
    ``fetch`` from a faked Stripe."""
    _, token = shop.session()
    payment = shop.pay(token, "card")  # the checkout made by the fake; from here on, the real module
    api = FakeStripe()
    api.paid(payment.provider_reference or "", 1000)
    monkeypatch.setitem(PROVIDERS, "stripe", stripe)  # type: ignore[arg-type]
    monkeypatch.setattr(stripe, "_call", lambda action, credentials: action(api))
    completed = stripe._event("evt_1", "checkout.session.completed", api.objects[payment.provider_reference or ""],
                              MARCH)  # fmt: skip
    paid = shop.payments.apply(SCOPE, "stripe", completed)
    assert paid is not None and (paid.status, paid.amount_received, paid.payment_reference) == ("succeeded", 1000,
                                                                                               "pi_1")  # fmt: skip
    assert shop.current().status == "paid" and api.listed == []  # an undisputed charge costs no dispute call
    return api, paid


def test_a_lost_dispute_takes_the_money_back_and_the_invoice_is_owed_again(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    api, _ = card_paid(shop, monkeypatch)
    closed = stripe._event("evt_2", "charge.dispute.closed", api.dispute("lost", 1000), MARCH)
    assert (closed.status, closed.payment_reference) == ("disputed", "pi_1")
    disputed = shop.payments.apply(SCOPE, "stripe", closed)
    assert disputed is not None
    assert (disputed.status, disputed.amount_received, disputed.amount_refunded) == ("disputed", 1000, 1000)
    assert api.listed == [{"charge": "ch_1", "limit": 100}]
    invoice = shop.current()
    assert (invoice.status, invoice.amount_paid, invoice.amount_due) == ("open", 0, 1000)
    [entry] = [e for e in entries(shop) if e.kind == "payment_disputed"]
    assert entry.postings == (ledger.Posting("cash:stripe", credit=1000), ledger.Posting(ledger.RECEIVABLE, debit=1000))
    assert shop.balances()["cash:stripe"] == 0 and shop.balances()[ledger.RECEIVABLE] == 1000
    kinds = [e.type for e in shop.w.invoices_repo.events if e.type in ("PaymentRefunded", "InvoiceUpdated")]
    assert kinds == ["PaymentRefunded", "InvoiceUpdated"]
    check_invariants(shop)

    before = (entries(shop), dict(shop.w.payments_repo.rows), shop.current(), len(shop.w.invoices_repo.events))
    for report in (closed, closed, stripe._event("evt_1", "checkout.session.completed", api.objects["pi_1"], MARCH)):
        assert shop.payments.apply(SCOPE, "stripe", report) == disputed  # again, or a late report: nothing new
    assert (entries(shop), dict(shop.w.payments_repo.rows), shop.current(), len(shop.w.invoices_repo.events)) == before


def test_a_partial_refund_then_a_lost_dispute_of_the_rest_reverse_everything_once(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    api, _ = card_paid(shop, monkeypatch)
    api.objects["ch_1"]["amount_refunded"] = 300
    refunded = shop.payments.apply(SCOPE, "stripe", stripe._event("evt_r", "charge.refunded", api.objects["ch_1"],
                                                                   MARCH))  # fmt: skip
    assert refunded is not None and (refunded.status, refunded.amount_refunded) == ("refunded", 300)
    closed = stripe._event("evt_d", "charge.dispute.closed", api.dispute("lost", 700), MARCH)
    disputed = shop.payments.apply(SCOPE, "stripe", closed)
    assert disputed is not None and (disputed.status, disputed.amount_refunded) == ("disputed", 1000)
    assert (shop.current().status, shop.current().amount_due) == ("open", 1000)
    assert [e.kind for e in entries(shop)].count("payment_disputed") == 1
    check_invariants(shop)


@pytest.mark.parametrize("status", ["won", "needs_response", "under_review", "warning_closed"])
def test_a_dispute_won_or_still_open_changes_nothing(shop: Shop, monkeypatch: pytest.MonkeyPatch, status: str) -> None:
    api, paid = card_paid(shop, monkeypatch)
    dispute = api.dispute(status, 1000)
    before = (entries(shop), dict(shop.w.payments_repo.rows), shop.current(), len(shop.w.invoices_repo.events))
    closed = stripe._event("evt_2", "charge.dispute.closed", dispute, MARCH)
    assert closed.status is None and shop.payments.apply(SCOPE, "stripe", closed) is None
    # whatever report comes next, the truth fetched (disputes read) counts no dispute that was not lost
    assert shop.payments.apply(SCOPE, "stripe", stripe._event("e", "payment_intent.succeeded", api.objects["pi_1"],
                                                              MARCH)) == paid  # fmt: skip
    assert api.listed == [{"charge": "ch_1", "limit": 100}]
    assert (entries(shop), dict(shop.w.payments_repo.rows), shop.current(), len(shop.w.invoices_repo.events)) == before


def test_a_fetched_charge_counts_its_refunds_and_only_its_lost_disputes() -> None:
    charge = {"object": "charge", "id": "ch_1", "payment_intent": "pi_1", "amount": 1000, "amount_captured": 1000,
              "amount_refunded": 200, "currency": "usd", "disputed": True}  # fmt: skip
    lost = {"status": "lost", "amount": 800, "currency": "usd"}
    for disputes, status, reversed_ in (
        ([], "refunded", 200),
        ([lost], "disputed", 1000),
        ([{**lost, "status": "won"}], "refunded", 200),
        ([{**lost, "currency": "eur"}], "refunded", 200),  # not the charge's money: not counted
    ):
        truth = stripe._event("fetch", "charge.refunded", {**charge, "disputes": disputes}, MARCH)
        assert (truth.status, truth.amount_reversed) == (status, reversed_)
    intent = {"object": "payment_intent", "id": "pi_1", "status": "succeeded", "amount": 1000, "currency": "usd",
              "latest_charge": {**charge, "amount_refunded": 0, "disputes": [{**lost, "amount": 1000}]}}  # fmt: skip
    truth = stripe._event("fetch:pi_1", "payment_intent", intent, MARCH)
    assert (truth.status, truth.amount_received, truth.amount_reversed) == ("disputed", 1000, 1000)


# ------------------------------------------------------------------ Whitepay rollbacks


def order(reference: str, received: str, *transactions: dict[str, Any]) -> dict[str, Any]:
    return {"order": {"id": reference, "currency": "USD", "value": "10", "received_total": received,
                      "received_currency": "USD", "status": "COMPLETE", "external_order_id": "chk_1",
                      "created_at": "2026-03-01 11:50:00", "completed_at": "2026-03-01 11:59:00",
                      "transactions": list(transactions)}}  # fmt: skip


def transaction(kind: str, value: str, status: str = "COMPLETE") -> dict[str, Any]:
    return {"id": f"tx-{kind}-{value}", "type": kind, "currency": "USD", "value": value, "status": status}


def test_an_overpayment_returned_to_the_payer_takes_back_the_credit_it_became(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, token = shop.session()
    reference = shop.pay(token, "whitepay").provider_reference or ""
    served: dict[str, Any] = {"answer": order(reference, "13", transaction("DEPOSIT", "13"))}
    monkeypatch.setitem(PROVIDERS, "whitepay", whitepay)  # type: ignore[arg-type]
    monkeypatch.setattr(whitepay.http, "call", lambda *args, **kwargs: served["answer"])
    monkeypatch.setattr(whitepay, "_orders_url", lambda credentials: "https://whitepay.test/orders")
    monkeypatch.setattr(whitepay, "_auth", lambda credentials: {})
    completed = whitepay._order_event("evt", "order::completed", served["answer"]["order"], MARCH)
    paid = shop.payments.apply(SCOPE, "whitepay", completed)
    assert paid is not None and (paid.status, paid.amount_received, paid.credited) == ("succeeded", 1300, 300)
    assert ledger.credit_available(shop.balances()) == 300

    # the merchant returns the excess to the payer: the order now lists the rollback
    rollback = transaction("ROLLBACK_TO_CLIENT", "3")
    served["answer"] = order(reference, "13", transaction("DEPOSIT", "13"), rollback)
    webhook = whitepay._event({"transaction": {**rollback, "order_id": reference}, "event_type": "rollback::to_client"},
                              MARCH)  # fmt: skip
    returned = shop.payments.apply(SCOPE, "whitepay", webhook)
    assert returned is not None
    assert (returned.status, returned.amount_received, returned.amount_refunded, returned.credited) == (
        "refunded", 1300, 300, 0)  # fmt: skip
    assert (shop.current().status, shop.current().amount_due) == ("paid", 0)  # the invoice keeps what it took
    balances = shop.balances()
    assert (balances["cash:whitepay"], ledger.credit_available(balances), balances[ledger.RECEIVABLE]) == (1000, 0, 0)
    [entry] = [e for e in entries(shop) if e.kind == "payment_refunded"]
    assert entry.postings == (ledger.Posting("cash:whitepay", credit=300), ledger.Posting("customer_credit", debit=300))
    check_invariants(shop)

    before = (entries(shop), dict(shop.w.payments_repo.rows), len(shop.w.invoices_repo.events))
    for report in (webhook, completed):
        assert shop.payments.apply(SCOPE, "whitepay", report) == returned
    assert (entries(shop), dict(shop.w.payments_repo.rows), len(shop.w.invoices_repo.events)) == before


@pytest.mark.parametrize(
    ("transactions", "status", "reversed_"),
    [
        ([transaction("ROLLBACK_TO_MERCHANT", "3")], "succeeded", None),  # the excess stays: it is credit
        ([transaction("ROLLBACK_TO_CLIENT", "3", status="PENDING")], "succeeded", None),  # not sent yet
        ([transaction("ROLLBACK_TO_CLIENT", "1"), transaction("rollback_to_client", "2")], "refunded", 300),
        ([{**transaction("ROLLBACK_TO_CLIENT", "6"), "currency": "USDT"}], "refunded", 300),  # at 0.5 USD a USDT
    ],
)
def test_a_fetched_order_counts_only_rollbacks_completed_to_the_payer(
    transactions: list[dict[str, Any]], status: str, reversed_: int | None
) -> None:
    found = order("ord-1", "13", transaction("DEPOSIT", "13"), *transactions)["order"]
    truth = whitepay._order_event("fetch", "order", {**found, "exchange_rate": "0.5"}, MARCH)
    assert (truth.status, truth.amount_received, truth.amount_reversed) == (status, 1300, reversed_)
