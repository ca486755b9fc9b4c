"""The hosted checkout on memory fakes: checkout session rules, the page (escaped, strict
headers), starting payments, and ``Payments.apply``'s state machine with its ledger, down to a
property over any sequence of provider payments, refunds and credit notes.

Providers are fakes registered in ``PROVIDERS`` under the real names (``stripe`` for cards,
``whitepay`` for crypto): ``fetch`` answers the truth a test sets, as the real ones would."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billing import ledger, pages
from billing.customers.service import find_customer
from billing.errors import BillingError, Conflict, InvalidRequest, NotFound
from billing.invoicing.credit_notes import CreditNote, CreditNoteCreate
from billing.invoicing.model import Invoice
from billing.pages.strings import STRINGS
from billing.payments.accounts import NoProviderAccounts, ProviderNotConfigured
from billing.payments.checkout import CheckoutSessionCreate, CheckoutSessions, Lookups
from billing.payments.hosted import HostedCheckout
from billing.payments.model import Payment, Status
from billing.payments.providers import (
    PROVIDERS,
    REFUNDERS,
    CheckoutRequest,
    ProviderCheckout,
    ProviderError,
    ProviderEvent,
    base,
)
from billing.payments.refunds import RefundCreate
from billing.payments.service import Payments
from billing.scope import Scope
from billing.validation import parse
from tests.unit.fakes import MemoryCheckoutSessions
from tests.unit.invoicing_world import SCOPE, Billing

MARCH = datetime(2026, 3, 1, tzinfo=UTC)
EVIL = "<script>alert(1)</script>"


class FakeProvider:
    """A provider module: checkouts made up, ``fetch`` answering what ``report`` set."""

    STATUSES: dict[str, Status] = {}
    Credentials = base.Credentials

    def __init__(self, name: str, channel: str) -> None:
        self.NAME, self.CHANNEL = name, channel
        self.checkouts: dict[str, CheckoutRequest] = {}
        self.truth: dict[str, ProviderEvent] = {}
        self.refunds: dict[str, tuple[str, int]] = {}  # by idempotency key: (payment reference, amount)
        self.failure: ProviderError | None = None

    def create_checkout(self, credentials: Any, request: CheckoutRequest) -> ProviderCheckout:
        reference = f"{self.NAME}_ref_{len(self.checkouts) + 1}"
        self.checkouts[reference] = request
        return ProviderCheckout(reference, f"https://{self.NAME}.example/pay/{reference}", request.expires_at)

    def verify(self, *args: Any) -> ProviderEvent:
        raise AssertionError("not called: reports are made by tests")

    def fetch(self, credentials: Any, reference: str) -> ProviderEvent | None:
        return self.truth.get(reference)

    def refund(self, credentials: Any, payment_reference: str, amount: int, idempotency_key: str) -> ProviderEvent:
        """Stripe's ``refund``: the same key gets the first refund back; the truth after it."""
        if self.failure:
            raise self.failure
        reference = payment_reference.removeprefix("pi_")
        if idempotency_key not in self.refunds:
            self.refunds[idempotency_key] = (payment_reference, amount)
            now = self.truth[reference]
            self.report(reference, "refunded", now.amount_received or 0, (now.amount_reversed or 0) + amount)
        return self.truth[reference]

    def report(self, reference: str, status: Status, received: int = 0, reversed_: int = 0) -> ProviderEvent:
        """The provider's state of ``reference`` now; the webhook that says so (its payload
        deliberately stale: ``apply`` must ask ``fetch``)."""
        self.truth[reference] = ProviderEvent(
            id=f"evt_{len(self.truth)}", provider=self.NAME, type="fake", status=status, occurred_at=MARCH,
            reference=reference, amount_received=received, amount_reversed=reversed_, currency="USD",
            payment_reference=f"pi_{reference}",
        )  # fmt: skip
        return ProviderEvent(id="evt_stale", provider=self.NAME, type="fake", status="pending", occurred_at=MARCH,
                             reference=reference)  # fmt: skip


class Accounts:
    """``EnabledProviders`` in memory."""

    def __init__(self, *names: str) -> None:
        self.names = list(names)

    def enabled(self, scope: Scope) -> list[str]:
        return self.names

    def credentials(self, scope: Scope, provider: str) -> base.Credentials | None:
        return base.Credentials() if provider in self.names else None


@dataclass
class Shop:
    w: Billing
    payments: Payments
    sessions: CheckoutSessions
    hosted: HostedCheckout
    repo: MemoryCheckoutSessions
    card: FakeProvider
    crypto: FakeProvider
    customer: str
    invoice: Invoice

    def session(self, **body: Any) -> tuple[str, str]:
        """A checkout session of the invoice (or ``body``): its id and token."""
        made, _ = self.sessions.create(SCOPE, parse(CheckoutSessionCreate, body or {"invoice": self.invoice.id}))
        return made.id, made.token

    def pay(self, token: str, method: str) -> Payment:
        url = self.hosted.pay(token, method, self.hosted.view(token).session.form_token)
        reference = url.rsplit("/", 1)[1]
        found = self.w.payments_repo.by_reference(SCOPE, "stripe" if method == "card" else method, reference)
        assert isinstance(found, Payment)
        return found

    def current(self) -> Invoice:
        found = self.w.invoices_repo.get(SCOPE, self.invoice.id)
        assert isinstance(found, Invoice)
        return found

    def balances(self) -> dict[str, int]:
        return self.w.invoices_repo.balances(SCOPE, self.customer)


@pytest.fixture
def shop(monkeypatch: pytest.MonkeyPatch) -> Shop:
    return make_shop(monkeypatch)


def make_shop(monkeypatch: pytest.MonkeyPatch) -> Shop:
    w = Billing(MARCH)
    w.create("plan", code="basic", name="Basic", currency="USD", interval="month", base_fee=1000)
    customer = w.customer(name=f"Jane {EVIL}", email="jane@example.com")
    [invoice] = w.bill(w.subscribe(customer, "basic"))
    card, crypto = FakeProvider("stripe", "card"), FakeProvider("whitepay", "crypto")
    monkeypatch.setitem(PROVIDERS, "stripe", card)  # type: ignore[arg-type]
    monkeypatch.setitem(PROVIDERS, "whitepay", crypto)  # type: ignore[arg-type]
    monkeypatch.setitem(REFUNDERS, "stripe", card)
    accounts = Accounts("stripe", "whitepay")
    customer_of = partial(find_customer, w.customer_repo)
    payments = Payments(w.payments_repo, w.invoices_repo, customer_of, w.invoices_repo.balances, w.biller.now,
                        providers=accounts, settings=lambda scope: w.settings, credit_notes=w.credit_notes)  # fmt: skip
    repo = MemoryCheckoutSessions(w.payments_repo)
    lookups = Lookups(customer_of, w.invoices_repo.get, repo.payments_of)
    sessions = CheckoutSessions(repo, lookups, "https://pay.example", w.clock)
    hosted = HostedCheckout(repo, lookups, accounts, lambda scope: f"Acme {EVIL}", "https://pay.example", w.clock)
    return Shop(w, payments, sessions, hosted, repo, card, crypto, customer, invoice)


def render(shop: Shop, token: str, template: str = "pay.html", language: str = "en") -> str:
    return pages.checkout(template, shop.hosted.view(token), f"https://pay.example/pay/{token}", language)


# ------------------------------------------------------------------ checkout sessions


def test_an_invoice_session_is_a_long_random_link_that_expires_in_a_day(shop: Shop) -> None:
    session, status = shop.sessions.create(SCOPE, parse(CheckoutSessionCreate, {"invoice": shop.invoice.id}))
    public = session.to_public(shop.sessions.url(session), status)
    assert (public["status"], public["amount"], public["currency"], public["customer"]) == (
        "open", 1000, "USD", shop.customer)  # fmt: skip
    assert public["url"] == f"https://pay.example/pay/{session.token}" and len(session.token) >= 43
    assert "token" not in public and "form_token" not in public
    assert datetime.fromisoformat(public["expires_at"]) == MARCH + timedelta(hours=24)
    other, _ = shop.sessions.create(SCOPE, parse(CheckoutSessionCreate, {"invoice": shop.invoice.id}))
    assert other.token != session.token and other.form_token != session.form_token


@pytest.mark.parametrize(
    ("body", "param", "code"),
    [
        ({"invoice": "inv_missing"}, "invoice", "resource_missing"),
        ({"customer": "cus_missing", "amount": 100, "currency": "USD", "purpose": "top_up"}, "customer",
         "resource_missing"),
        ({"invoice": "INV", "amount": 100}, "amount", "parameter_invalid"),
        ({"customer": "X", "amount": 0, "currency": "USD", "purpose": "top_up"}, "amount", "parameter_invalid"),
        ({"customer": "X", "amount": 100, "currency": "usd", "purpose": "top_up"}, "currency", "parameter_invalid"),
        ({"customer": "X", "amount": 100, "purpose": "top_up"}, "currency", "parameter_missing"),
        ({"customer": "X", "amount": 100, "currency": "USD"}, "invoice", "parameter_missing"),
        ({"invoice": "INV", "expires_at": "2026-03-01T00:10:00Z"}, "expires_at", "parameter_invalid"),
        ({"invoice": "INV", "expires_at": "2026-03-03T00:00:00Z"}, "expires_at", "parameter_invalid"),
        ({"customer": "CUS", "amount": 100, "currency": "EUR", "purpose": "top_up"}, "currency", "currency_mismatch"),
    ],
)  # fmt: skip
def test_refusals_name_the_field_and_write_nothing(shop: Shop, body: dict[str, Any], param: str, code: str) -> None:
    body = {k: shop.invoice.id if v == "INV" else shop.customer if v == "CUS" else v for k, v in body.items()}
    with pytest.raises(BillingError) as refused:
        shop.sessions.create(SCOPE, parse(CheckoutSessionCreate, body))
    assert (refused.value.param, refused.value.code) == (param, code)
    assert shop.repo.rows == {}


def test_paid_void_and_draft_invoices_get_no_session(shop: Shop) -> None:
    draft = shop.w.invoices_repo.rows[(SCOPE, shop.invoice.id)].model_copy(
        update={"id": "inv_draft", "status": "draft"}
    )
    shop.w.invoices_repo.rows[(SCOPE, "inv_draft")] = draft
    shop.w.payments.record(SCOPE, parse_payment(shop, 1000))
    for invoice_id, code in ((shop.invoice.id, "invoice_paid"), ("inv_draft", "invoice_not_payable")):
        with pytest.raises(Conflict) as refused:
            shop.sessions.create(SCOPE, parse(CheckoutSessionCreate, {"invoice": invoice_id}))
        assert (refused.value.code, refused.value.param) == (code, "invoice")


def parse_payment(shop: Shop, amount: int) -> Any:
    from billing.payments.model import PaymentCreate

    return parse(PaymentCreate, {"customer": shop.customer, "amount": amount, "currency": "USD",
                                 "channel": "bank_transfer", "invoice": shop.invoice.id})  # fmt: skip


# ------------------------------------------------------------------ the page


def test_the_page_escapes_every_name_and_offers_each_enabled_method(shop: Shop) -> None:
    _, token = shop.session()
    html = render(shop, token)
    assert "<script" not in html.lower() and html.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 2
    assert shop.invoice.number in html and "USD 10.00" in html
    forms = re.findall(r'<form method="post" action="([^"]+)" data-method="([^"]+)">', html)
    assert forms == [(f"https://pay.example/pay/{token}/card", "card"),
                     (f"https://pay.example/pay/{token}/whitepay", "whitepay")]  # fmt: skip
    assert html.count(f'name="form_token" value="{shop.hosted.view(token).session.form_token}"') == 2
    assert 'lang="ru"' in render(shop, token, language="ru") and STRINGS["ru"]["pay_card"] in render(
        shop, token, language="ru")  # fmt: skip


def test_the_page_headers_allow_no_script_and_nothing_from_elsewhere() -> None:
    headers = pages.headers(local=False)
    policy = headers["Content-Security-Policy"]
    assert policy.startswith("default-src 'none'") and "script-src" not in policy and "unsafe-inline" not in policy
    assert f"style-src 'sha256-{pages.STYLE_HASH}'" in policy and "frame-ancestors 'none'" in policy
    assert "http:" not in policy and "http:" in pages.headers(local=True)["Content-Security-Policy"]
    assert (headers["X-Content-Type-Options"], headers["Referrer-Policy"]) == ("nosniff", "no-referrer")
    assert pages.language(None, "ru-RU,ru;q=0.9,en;q=0.8") == "ru" and pages.language("en", "ru") == "en"
    assert pages.language("xx", "de-DE") == "en"


def test_every_language_has_every_string() -> None:
    assert set(STRINGS["en"]) == set(STRINGS["ru"])


def test_a_paid_invoice_page_says_so_and_offers_nothing(shop: Shop) -> None:
    _, token = shop.session()
    shop.w.payments.record(SCOPE, parse_payment(shop, 1000))
    view = shop.hosted.view(token)
    assert (view.state, view.methods) == ("paid", [])
    html = render(shop, token)
    assert "<form" not in html and 'data-state="paid"' in html
    with pytest.raises(Conflict):
        shop.hosted.pay(token, "card", view.session.form_token)


def test_an_unknown_token_a_forged_form_and_a_disabled_method_are_refused(shop: Shop) -> None:
    _, token = shop.session()
    with pytest.raises(NotFound):
        shop.hosted.view(token[:-1] + ("A" if token[-1] != "A" else "B"))
    with pytest.raises(InvalidRequest) as forged:
        shop.hosted.pay(token, "card", "forged")
    assert forged.value.code == "form_token_invalid"
    with pytest.raises(NotFound):
        shop.hosted.pay(token, "coinbase_commerce", shop.hosted.view(token).session.form_token)
    assert shop.w.payments_repo.rows == {}


def test_without_provider_accounts_the_page_offers_nothing_and_apply_cannot_confirm(shop: Shop) -> None:
    _, token = shop.session()
    payment = shop.pay(token, "card")
    lonely = HostedCheckout(shop.repo, Lookups(lambda s, c: None, shop.w.invoices_repo.get, shop.repo.payments_of),
                            NoProviderAccounts(), lambda scope: "Acme", None, shop.w.clock)  # fmt: skip
    assert lonely.view(token).methods == []
    unwired = Payments(shop.w.payments_repo, shop.w.invoices_repo, lambda s, c: None, shop.w.invoices_repo.balances,
                       shop.w.biller.now)  # fmt: skip
    with pytest.raises(ProviderNotConfigured) as refused:
        unwired.apply(SCOPE, "stripe", shop.card.report(payment.provider_reference or "", "succeeded", 1000))
    assert (refused.value.code, refused.value.status) == ("provider_not_configured", 503)


# ------------------------------------------------------------------ starting a payment


def test_paying_starts_one_pending_payment_per_method_and_amount(shop: Shop) -> None:
    chk, token = shop.session()
    payment = shop.pay(token, "card")
    assert (payment.status, payment.amount, payment.provider, payment.channel, payment.method) == (
        "pending", 1000, "stripe", "card", "card")  # fmt: skip
    assert (payment.checkout_session, payment.invoice) == (chk, shop.invoice.id)
    request = shop.card.checkouts[payment.provider_reference or ""]
    assert (request.checkout_session, request.amount, request.customer_email) == (chk, 1000, "jane@example.com")
    assert request.success_url == f"https://pay.example/pay/{token}/return"
    assert request.expires_at == MARCH + timedelta(hours=24)
    assert shop.pay(token, "card").id == payment.id  # a double click: the same provider page
    assert len(shop.card.checkouts) == 1
    crypto = shop.pay(token, "whitepay")
    assert (crypto.channel, crypto.method) == ("crypto", None)
    assert shop.repo.get(SCOPE, chk).payments == [payment.id, crypto.id]  # type: ignore[union-attr]
    assert shop.hosted.view(token).state == "processing"


def test_a_failed_provider_checkout_is_not_reused_paying_again_starts_a_new_one(shop: Shop) -> None:
    """A cancelled Coinbase charge, a declined Whitepay order: their pages are dead; the next
    click on that method gets a new provider checkout (and Stripe a new idempotency key)."""
    _, token = shop.session()
    first = shop.pay(token, "whitepay")
    shop.payments.apply(SCOPE, "whitepay", shop.crypto.report(first.provider_reference or "", "failed"))
    assert shop.hosted.view(token).state == "failed" and "whitepay" in shop.hosted.view(token).methods
    second = shop.pay(token, "whitepay")
    assert second.id != first.id and second.provider_reference != first.provider_reference
    assert (second.status, shop.crypto.checkouts[second.provider_reference or ""].attempt) == ("pending", 1)
    assert shop.pay(token, "whitepay").id == second.id  # pending: the same page again
    card = shop.pay(token, "card")
    assert shop.card.checkouts[card.provider_reference or ""].attempt == 0  # the first with that provider


def test_an_expired_link_offers_nothing_even_while_a_payment_is_processing(shop: Shop) -> None:
    _, token = shop.session()
    shop.pay(token, "card")
    form_token = shop.hosted.view(token).session.form_token
    shop.w.at(MARCH + timedelta(hours=25))
    view = shop.hosted.view(token)
    assert (view.state, view.methods, view.payable) == ("processing", [], False)
    with pytest.raises(Conflict) as closed:
        shop.hosted.pay(token, "whitepay", form_token)
    assert closed.value.code == "checkout_closed" and shop.crypto.checkouts == {}


# ------------------------------------------------------------------ applying reports


def entries(shop: Shop) -> list[ledger.JournalEntry]:
    return shop.w.invoices_repo.journal(SCOPE, shop.customer)


def test_a_card_payment_confirmed_by_the_provider_pays_the_invoice_once(shop: Shop) -> None:
    _, token = shop.session()
    payment = shop.pay(token, "card")
    stale = shop.card.report(payment.provider_reference or "", "succeeded", 1000)
    applied = shop.payments.apply(SCOPE, "stripe", stale)
    assert applied is not None and (applied.status, applied.amount_received, applied.credited) == ("succeeded", 1000, 0)
    assert applied.payment_reference == f"pi_{payment.provider_reference}" and applied.paid_at
    assert (shop.current().status, shop.current().amount_paid, shop.current().amount_due) == ("paid", 1000, 0)
    before = entries(shop)
    for _ in range(3):
        assert shop.payments.apply(SCOPE, "stripe", stale) == applied
    assert entries(shop) == before
    assert shop.balances()["cash:stripe"] == 1000 and shop.balances()[ledger.RECEIVABLE] == 0
    assert shop.sessions.status(SCOPE, shop.repo.by_token(_digest(token))[1]) == "complete"  # type: ignore[index]
    kinds = [e.type for e in shop.w.invoices_repo.events if e.type.startswith("Payment")]
    assert kinds == ["PaymentSucceeded"]
    assert render(shop, token, "return.html").count('data-state="paid"') == 1


def _digest(token: str) -> str:
    from billing.payments.checkout import token_digest

    return token_digest(token)


def test_a_crypto_underpayment_leaves_the_rest_open_and_a_second_report_settles_only_the_difference(
    shop: Shop,
) -> None:
    _, token = shop.session()
    payment = shop.pay(token, "whitepay")
    reference = payment.provider_reference or ""
    partial_ = shop.payments.apply(SCOPE, "whitepay", shop.crypto.report(reference, "partially_paid", 600))
    assert partial_ is not None and (partial_.status, partial_.amount_received) == ("partially_paid", 600)
    assert (shop.current().status, shop.current().amount_due) == ("open", 400)
    assert shop.hosted.view(token).state == "partially_paid" and shop.hosted.view(token).amount_due == 400
    rest = shop.payments.apply(SCOPE, "whitepay", shop.crypto.report(reference, "succeeded", 1100))
    assert rest is not None and (rest.status, rest.amount_received, rest.credited) == ("succeeded", 1100, 100)
    assert [e.postings for e in entries(shop) if e.kind == "payment_received"] == [
        (ledger.Posting("cash:whitepay", debit=600), ledger.Posting("receivable", credit=600)),
        (ledger.Posting("cash:whitepay", debit=500), ledger.Posting("customer_credit", credit=100),
         ledger.Posting("receivable", credit=400)),
    ]  # fmt: skip
    assert shop.current().status == "paid" and ledger.credit_available(shop.balances()) == 100


def test_a_tolerated_shortfall_is_written_off(shop: Shop) -> None:
    shop.w.settings = shop.w.settings.model_copy(update={"underpayment_tolerance": 5})
    _, token = shop.session()
    reference = shop.pay(token, "whitepay").provider_reference or ""
    shop.payments.apply(SCOPE, "whitepay", shop.crypto.report(reference, "partially_paid", 996))
    invoice = shop.current()
    assert (invoice.status, invoice.amount_due, invoice.amount_written_off, invoice.amount_paid) == ("paid", 0, 4, 996)
    assert shop.balances()["write_off"] == 4 and shop.balances()[ledger.RECEIVABLE] == 0
    assert "InvoicePaid" in [e.type for e in shop.w.invoices_repo.events]


def test_failed_and_expired_post_nothing_and_a_late_payment_is_still_recorded(shop: Shop) -> None:
    _, token = shop.session()
    reference = shop.pay(token, "whitepay").provider_reference or ""
    expired = shop.payments.apply(SCOPE, "whitepay", shop.crypto.report(reference, "expired"))
    assert expired is not None and expired.status == "expired" and entries(shop)[-1].kind == "invoice_finalized"
    assert shop.payments.apply(SCOPE, "whitepay", shop.crypto.report(reference, "failed")).status == "expired"  # type: ignore[union-attr]
    assert [e.type for e in shop.w.invoices_repo.events if e.type.startswith("Payment")] == ["PaymentFailed"]
    late = shop.payments.apply(SCOPE, "whitepay", shop.crypto.report(reference, "succeeded", 1000))
    assert late is not None and late.status == "succeeded" and shop.current().status == "paid"


def test_a_refund_is_owed_again_credit_first_then_the_invoice_reopens(shop: Shop) -> None:
    _, token = shop.session()
    reference = shop.pay(token, "whitepay").provider_reference or ""
    shop.payments.apply(SCOPE, "whitepay", shop.crypto.report(reference, "succeeded", 1300))
    assert ledger.credit_available(shop.balances()) == 300
    refunded = shop.payments.apply(SCOPE, "whitepay", shop.crypto.report(reference, "refunded", 1300, 500))
    assert refunded is not None
    assert (refunded.status, refunded.amount_refunded, refunded.credited) == ("refunded", 500, 0)
    invoice = shop.current()
    assert (invoice.status, invoice.amount_paid, invoice.amount_due) == ("open", 800, 200)
    assert sum(a.amount for a in refunded.allocations) + refunded.credited == 1300 - 500
    balances = shop.balances()
    assert (balances["cash:whitepay"], balances[ledger.RECEIVABLE], ledger.credit_available(balances)) == (800, 200, 0)
    kinds = [e.type for e in shop.w.invoices_repo.events if e.type in ("PaymentRefunded", "InvoiceUpdated")]
    assert kinds == ["PaymentRefunded", "InvoiceUpdated"]


def test_a_report_about_nothing_of_ours_changes_nothing(shop: Shop) -> None:
    event = ProviderEvent(id="evt_x", provider="stripe", type="x", status="succeeded", occurred_at=MARCH,
                          reference="cs_never_made", amount_received=1000)  # fmt: skip
    assert shop.payments.apply(SCOPE, "stripe", event) is None
    assert shop.payments.apply(SCOPE, "stripe", ProviderEvent("e", "stripe", "x", None, MARCH)) is None


def test_a_refund_reported_before_the_payment_is_applied_whole_from_the_truth(shop: Shop) -> None:
    """Order does not matter: whatever report comes first, ``fetch`` gives the whole story."""
    _, token = shop.session()
    payment = shop.pay(token, "card")
    shop.card.report(payment.provider_reference or "", "refunded", 1000, 1000)
    refund_first = ProviderEvent(id="evt_r", provider="stripe", type="charge.refunded", status="refunded",
                                 occurred_at=MARCH, reference=payment.provider_reference)  # fmt: skip
    done = shop.payments.apply(SCOPE, "stripe", refund_first)
    assert done is not None and (done.status, done.amount_received, done.amount_refunded) == ("refunded", 1000, 1000)
    assert (shop.current().status, shop.current().amount_due) == ("open", 1000)
    assert shop.balances().get("cash:stripe", 0) == 0


# ------------------------------------------------------------------ refunds through the API


def paid_by_card(shop: Shop) -> Payment:
    _, token = shop.session()
    payment = shop.pay(token, "card")
    applied = shop.payments.apply(
        SCOPE, "stripe", shop.card.report(payment.provider_reference or "", "succeeded", 1000)
    )
    assert applied is not None and applied.status == "succeeded"
    return applied


def test_a_card_refund_asks_stripe_records_at_once_and_its_webhook_finds_nothing_new(shop: Shop) -> None:
    payment = paid_by_card(shop)
    refunded = shop.payments.refund(SCOPE, payment.id, RefundCreate(amount=400))
    assert shop.card.refunds == {f"refund-{payment.id}-0-400": (payment.payment_reference, 400)}
    assert (refunded.status, refunded.amount_refunded) == ("refunded", 400)
    assert (shop.current().status, shop.current().amount_paid, shop.current().amount_due) == ("open", 600, 400)
    before = entries(shop)
    webhook = ProviderEvent(id="evt_r", provider="stripe", type="charge.refunded", status="refunded",
                            occurred_at=MARCH, payment_reference=payment.payment_reference)  # fmt: skip
    assert shop.payments.apply(SCOPE, "stripe", webhook) == refunded
    assert entries(shop) == before and [e.kind for e in before].count("payment_refunded") == 1
    assert shop.balances()["cash:stripe"] == 600
    assert [e.type for e in shop.w.invoices_repo.events if e.type == "PaymentRefunded"] == ["PaymentRefunded"]

    rest = shop.payments.refund(SCOPE, payment.id, RefundCreate(credit_note=True))  # the other 600, credited
    assert shop.card.refunds[f"refund-{payment.id}-400-600"] == (payment.payment_reference, 600)
    assert (rest.amount_refunded, shop.current().status, shop.current().amount_due) == (1000, "open", 400)
    check_invariants(shop)


def test_a_provider_failure_refunds_nothing_and_records_nothing(shop: Shop) -> None:
    payment = paid_by_card(shop)
    before = (entries(shop), dict(shop.w.payments_repo.rows), shop.current())
    for status, code, http in ((0, "provider_error", 502), (400, "provider_refused", None)):
        shop.card.failure = ProviderError("stripe", status, "the charge is disputed")
        with pytest.raises(BillingError) as failed:
            shop.payments.refund(SCOPE, payment.id, RefundCreate())
        assert (failed.value.code, failed.value.status) == (code, http)
        assert (entries(shop), dict(shop.w.payments_repo.rows), shop.current()) == before
    shop.card.failure = None
    without_stripe = Payments(shop.w.payments_repo, shop.w.invoices_repo, lambda s, c: None,
                              shop.w.invoices_repo.balances, shop.w.biller.now,
                              providers=Accounts("whitepay"))  # fmt: skip
    with pytest.raises(ProviderNotConfigured):  # the tenant disabled its Stripe account: 503
        without_stripe.refund(SCOPE, payment.id, RefundCreate())
    assert (entries(shop), shop.card.refunds) == (before[0], {})


def failing_once(shop: Shop) -> None:
    """The next payment write fails as a timeout would (after the provider refunded)."""
    repo = shop.w.payments_repo
    real = repo.record

    def record(*args: Any, **kwargs: Any) -> None:
        repo.record = real  # type: ignore[method-assign]
        raise TimeoutError("the write timed out")

    repo.record = record  # type: ignore[method-assign]


def refund_webhook(payment: Payment) -> ProviderEvent:
    return ProviderEvent(id="evt_r", provider="stripe", type="charge.refunded", status="refunded",
                         occurred_at=MARCH, payment_reference=payment.payment_reference)  # fmt: skip


def test_a_retried_request_gets_stripes_same_refund_after_its_webhook_recorded_it(shop: Shop) -> None:
    """POST refund 300 with an Idempotency-Key; Stripe refunds, the recording fails; the
    ``charge.refunded`` webhook records 300; the client sends the same request again: Stripe is
    asked under the same key (its same refund back) and nothing new is recorded."""
    payment = paid_by_card(shop)
    failing_once(shop)
    with pytest.raises(TimeoutError):
        shop.payments.refund(SCOPE, payment.id, RefundCreate(amount=300), request_key="req-1")
    recorded = shop.payments.apply(SCOPE, "stripe", refund_webhook(payment))
    assert recorded is not None and recorded.amount_refunded == 300
    before = entries(shop)
    again = shop.payments.refund(SCOPE, payment.id, RefundCreate(amount=300), request_key="req-1")
    assert (again.amount_refunded, again.revision) == (300, recorded.revision)
    assert list(shop.card.refunds.values()) == [(payment.payment_reference, 300)]  # one refund at Stripe
    assert entries(shop) == before and shop.balances()["cash:stripe"] == 700
    other = shop.payments.refund(SCOPE, payment.id, RefundCreate(amount=300), request_key="req-2")
    assert other.amount_refunded == 600 and len(shop.card.refunds) == 2  # another request: another refund
    check_invariants(shop)


def test_a_retried_refund_with_a_credit_note_recorded_by_its_webhook_says_the_note_is_not_issued(
    shop: Shop,
) -> None:
    payment = paid_by_card(shop)
    failing_once(shop)
    with pytest.raises(TimeoutError):
        shop.payments.refund(SCOPE, payment.id, RefundCreate(amount=300, credit_note=True), request_key="req-1")
    shop.payments.apply(SCOPE, "stripe", refund_webhook(payment))
    with pytest.raises(Conflict) as untold:
        shop.payments.refund(SCOPE, payment.id, RefundCreate(amount=300, credit_note=True), request_key="req-1")
    assert untold.value.code == "credit_note_not_issued"  # never a silent 200 with the invoice reopened
    assert len(shop.card.refunds) == 1 and shop.w.payments_repo.get(SCOPE, payment.id).amount_refunded == 300  # type: ignore[union-attr]


def test_a_credit_note_follows_a_refund_its_webhook_recorded_first(shop: Shop) -> None:
    """Stripe refunds and its ``charge.refunded`` is processed before the request writes: the
    request records nothing new, and still credits what its refund reopened."""
    payment = paid_by_card(shop)
    refund = shop.card.refund

    def webhook_first(*args: Any) -> ProviderEvent:
        truth = refund(*args)
        shop.payments.apply(SCOPE, "stripe", refund_webhook(payment))
        return truth

    shop.card.refund = webhook_first  # type: ignore[method-assign]
    refunded = shop.payments.refund(SCOPE, payment.id, RefundCreate(amount=400, credit_note=True))
    assert refunded.amount_refunded == 400
    [note] = [n for n in shop.w.credit_notes._repo.rows.values() if isinstance(n, CreditNote)]  # type: ignore[attr-defined]
    assert (note.invoice, note.total) == (shop.invoice.id, 400)
    assert (shop.current().status, shop.current().amount_due, shop.current().amount_credited) == ("paid", 0, 400)
    check_invariants(shop)


def test_a_crypto_refund_is_recorded_without_asking_the_provider(shop: Shop) -> None:
    _, token = shop.session()
    reference = shop.pay(token, "whitepay").provider_reference or ""
    payment = shop.payments.apply(SCOPE, "whitepay", shop.crypto.report(reference, "succeeded", 1000))
    assert payment is not None
    refunded = shop.payments.refund(SCOPE, payment.id, RefundCreate(amount=250, credit_note=True))
    assert (refunded.amount_refunded, shop.crypto.refunds, shop.card.refunds) == (250, {}, {})
    assert (shop.current().status, shop.current().amount_paid, shop.current().amount_credited) == ("paid", 750, 250)
    assert shop.balances()["cash:whitepay"] == 750
    check_invariants(shop)


# ------------------------------------------------------------------ the property

OPERATIONS = st.lists(
    st.one_of(
        st.tuples(st.just("start"), st.sampled_from(["card", "whitepay"])),
        st.tuples(st.just("arrive"), st.integers(1, 1500)),
        st.tuples(st.just("refund"), st.integers(1, 1500)),
        st.tuples(st.just("api_refund"), st.tuples(st.none() | st.integers(1, 1500), st.booleans())),
        st.tuples(st.just("credit_note"), st.integers(1, 600)),
        st.tuples(st.just("replay"), st.just(0)),
    ),
    max_size=14,
)


@settings(max_examples=60)
@given(OPERATIONS)
def test_any_sequence_keeps_the_ledger_balanced_and_amount_due_exact(operations: list[tuple[str, Any]]) -> None:
    """The invariant of an invoice, from ``invoicing/credit_notes.py`` (a credit note takes off
    ``amount_due`` only what was still due: its ``amount_applied``; the rest is customer
    credit) and this module's rules (a reversal reopens what it takes back):

        amount_due = total - applied_balance - amount_paid - sum(credit notes' amount_applied)
                     - amount_written_off

    and of the customer's ledger, with this one invoice: every entry balances, ``receivable``
    is the invoice's ``amount_due``, customer credit is what payments and credit notes
    credited, each provider's cash is what arrived less what went back, and a report applied
    again changes nothing. Refunds come reported by the provider or through the API (asking
    the card provider, recording the crypto one's; with or without a credit note), whose
    webhook then finds nothing new."""
    with pytest.MonkeyPatch.context() as patch:
        shop_ = make_shop(patch)
        _, token = shop_.session()
        line = shop_.invoice.lines[0].id
        last: tuple[str, ProviderEvent] | None = None
        for kind, value in operations:
            payments = shop_.repo.payments_of(SCOPE, shop_.repo.by_token(_digest(token))[1].payments)  # type: ignore[index]
            latest = payments[-1] if payments else None
            provider = latest.provider if latest else "stripe"
            fake = shop_.card if provider == "stripe" else shop_.crypto
            try:
                if kind == "start":
                    shop_.pay(token, value)
                elif kind == "arrive" and latest:
                    received = latest.amount_received + value
                    status: Status = "succeeded" if received >= latest.amount else "partially_paid"
                    last = provider, fake.report(latest.provider_reference or "", status, received)
                    shop_.payments.apply(SCOPE, *last)
                elif kind == "refund" and latest and latest.amount_received:
                    reversed_ = min(latest.amount_refunded + value, latest.amount_received)
                    event = fake.report(latest.provider_reference or "", "refunded", latest.amount_received, reversed_)
                    last = provider, event
                    shop_.payments.apply(SCOPE, *last)
                elif kind == "api_refund" and latest:
                    api_refund(shop_, latest, *value)
                    last = provider, ProviderEvent(id="evt_refunded", provider=provider, type="fake", status="refunded",
                                                   occurred_at=MARCH, reference=latest.provider_reference)  # fmt: skip
                elif kind == "credit_note":
                    note = {"invoice": shop_.invoice.id, "lines": [{"line": line, "amount": value}]}
                    shop_.w.credit_notes.create(SCOPE, parse(CreditNoteCreate, note))
                elif kind == "replay" and last:
                    before = entries(shop_)
                    shop_.payments.apply(SCOPE, *last)
                    assert entries(shop_) == before
            except BillingError:
                pass  # refused (nothing left to credit, nothing to pay): nothing was written
            check_invariants(shop_)


def api_refund(shop: Shop, payment: Payment, amount: int | None, credit_note: bool) -> None:
    """``POST /v1/payments/{id}/refund``; refused, it wrote nothing (but for a credit note that
    could not follow a refund made)."""
    before = entries(shop)
    try:
        shop.payments.refund(SCOPE, payment.id, RefundCreate(amount=amount, credit_note=credit_note))
    except BillingError as refused:
        if refused.code != "credit_note_not_issued" and entries(shop) != before:
            raise AssertionError(f"refused ({refused.code}) after writing") from refused
        raise


def check_invariants(shop: Shop) -> None:
    invoice = shop.current()
    notes = [n for n in shop.w.credit_notes._repo.rows.values() if n.invoice == invoice.id]  # type: ignore[attr-defined]
    applied_notes = sum(n.amount_applied for n in notes)
    assert invoice.amount_due == (invoice.total - invoice.applied_balance - invoice.amount_paid - applied_notes
                                  - invoice.amount_written_off)  # fmt: skip
    assert invoice.amount_due >= 0 and (invoice.status == "paid") == (invoice.amount_due == 0)
    for entry in entries(shop):
        assert sum(p.debit for p in entry.postings) == sum(p.credit for p in entry.postings)
    payments = [p for p in shop.w.payments_repo.rows.values() if isinstance(p, Payment)]
    assert invoice.amount_paid == sum(a.amount for p in payments for a in p.allocations)
    balances = shop.balances()
    assert balances.get(ledger.RECEIVABLE, 0) == invoice.amount_due
    credited = sum(p.credited for p in payments) + sum(n.amount_credited_to_customer for n in notes)
    assert -balances.get(ledger.CUSTOMER_CREDIT, 0) == credited
    for provider in ("stripe", "whitepay"):
        cash = sum(p.amount_received - p.amount_refunded for p in payments if p.provider == provider)
        assert balances.get(f"cash:{provider}", 0) == cash
