"""The hosted checkout page's use cases: what ``/pay/<token>`` shows, and paying with a method.

- The token in the path is the capability (``billing.payments.checkout``); every form of the
  page also posts the session's form token, checked here in constant time, so a form
  cannot be posted from another site by someone who merely guessed the shape of a link.
- Methods are the providers the tenant enabled (``EnabledProviders``): ``card`` for the card
  provider (Stripe), each crypto provider by its name.
- Paying starts a ``pending`` payment (the provider's checkout as its ``provider_reference``)
  and answers the provider's hosted page to send the customer to. Coming back to the page
  and paying again with the same method and amount while that payment is ``pending`` goes
  back to the same provider page (no second checkout, no second payment): a double click and
  the back button are the same attempt. Once it ``failed`` or ``expired`` (a cancelled
  Coinbase charge, a declined Whitepay order, a Stripe session expired) the provider's page is
  dead: paying again is a new attempt with a new provider checkout (``CheckoutRequest.attempt``
  counts the earlier payments with that provider, so Stripe's idempotency key changes).
- Once the link expired, nothing is offered any more, even while a payment is still
  ``processing`` (its state is shown; money arriving later is still recorded).
- The card form has a "Save this card for future invoices" box (``save_card``): the provider's
  checkout then keeps the card on the provider's customer of ours (its id from
  ``Customer.provider_customers``, else created by the provider), and the card becomes the
  customer's default once paid (``billing.payments.saved_cards``); later invoices are charged
  to it when finalized (``billing.payments.off_session``). Paying again with the box set
  otherwise is another attempt (another provider checkout).
- The provider's checkout expires with the session, but no sooner than 30 minutes from now
  (Stripe's shortest) nor later than 24 hours: money arriving after our session expired is
  still recorded (``billing.payments.settlement``).
"""

from __future__ import annotations

import contextlib
import hmac
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from billing.clock import Clock, SystemClock, to_wire
from billing.errors import Conflict, InvalidRequest, NotFound
from billing.ids import new_id
from billing.invoicing.model import Invoice
from billing.payments.accounts import EnabledProviders, required
from billing.payments.checkout import LIFETIME, CheckoutSession, CheckoutSessionRepository, Lookups, token_digest
from billing.payments.model import Payment
from billing.payments.providers import CARDS_ON_FILE, PROVIDERS, CheckoutRequest
from billing.scope import Scope

State = Literal["open", "paid", "processing", "partially_paid", "failed", "expired", "void"]
PROVIDER_SHORTEST = timedelta(minutes=31)  # Stripe refuses a checkout expiring sooner than 30 minutes


def method_of(provider: str) -> str:
    return "card" if PROVIDERS[provider].CHANNEL == "card" else provider


def provider_of(method: str) -> str | None:
    return next((name for name in PROVIDERS if method_of(name) == method), None)


@dataclass(frozen=True)
class PageView:
    """What the page shows: who asks (``business_name``), for what, how much is due now, the
    state from our records, and the methods offered (none when nothing can be paid)."""

    scope: Scope
    session: CheckoutSession
    business_name: str
    customer_name: str
    invoice: Invoice | None
    amount_due: int
    state: State
    methods: list[str]

    @property
    def payable(self) -> bool:
        return bool(self.methods)


def state_of(session: CheckoutSession, invoice: Invoice | None, payments: Sequence[Payment], now: datetime) -> State:
    """The page's state: what the invoice or top-up is (paid, void), else how the latest
    payment of the page stands (a pending one is ``processing``: the provider has not reported
    yet), else whether the link expired."""
    if invoice is not None and invoice.status == "paid":
        return "paid"
    if invoice is not None and invoice.status != "open":
        return "void"
    if session.purpose == "top_up" and any(p.status in ("succeeded", "refunded", "disputed") for p in payments):
        return "paid"
    latest = payments[-1].status if payments else None
    if latest in ("pending", "partially_paid"):
        return "processing" if latest == "pending" else "partially_paid"
    if session.expired(now):
        return "expired"
    return "failed" if latest in ("failed", "expired") else "open"


class HostedCheckout:
    def __init__(
        self,
        repo: CheckoutSessionRepository,
        lookups: Lookups,
        providers: EnabledProviders,
        business_name: Callable[[Scope], str],
        base_url: str | None,
        clock: Clock | None = None,
    ):
        self._repo, self._lookups, self._providers = repo, lookups, providers
        self._business_name, self._base_url, self._clock = business_name, base_url, clock or SystemClock()

    def view(self, token: str) -> PageView:
        """The page of the session ``token`` opens; a 404 for any other token."""
        scope, session = self._session(token)
        return self._view(scope, session, self._lookups.payments_of(scope, session.payments))

    def pay(self, token: str, method: str, form_token: str, save_card: bool = False) -> str:
        """Start paying with ``method``: the provider's hosted page to send the customer to.
        ``save_card`` (the card form's box) keeps the card for later invoices; it means nothing
        to a provider that keeps no cards."""
        scope, session = self._session(token)
        if not hmac.compare_digest(form_token.encode(), session.form_token.encode()):
            raise InvalidRequest("This form has expired; open the payment link again.", code="form_token_invalid")
        payments = self._lookups.payments_of(scope, session.payments)
        view = self._view(scope, session, payments)
        provider = provider_of(method)
        if provider is None or method not in view.methods:
            if not view.payable:
                raise Conflict("Nothing can be paid on this page any more.", code="checkout_closed")
            raise NotFound(f"No such payment method: '{method}'.", param="method")
        save_card = save_card and provider in CARDS_ON_FILE
        for earlier in reversed(payments):
            if earlier.provider == provider and earlier.status == "pending" and earlier.checkout_url \
                    and earlier.amount == view.amount_due and earlier.save_card == save_card:  # fmt: skip
                return earlier.checkout_url
        attempt = sum(1 for earlier in payments if earlier.provider == provider)
        return self._start(scope, view, provider, save_card, attempt)

    def _start(self, scope: Scope, view: PageView, provider: str, save_card: bool, attempt: int) -> str:
        session, now = view.session, self._clock.now()
        customer = self._lookups.customer_of(scope, session.customer)
        invoice = view.invoice
        description = f"Invoice {invoice.number}" if invoice and invoice.number else "Balance top-up"
        expires = min(max(datetime.fromisoformat(session.expires_at), now + PROVIDER_SHORTEST), now + LIFETIME)
        link = f"{self._base_url}/pay/{session.token}"
        request = CheckoutRequest(
            checkout_session=session.id, invoice=session.invoice, amount=view.amount_due, currency=session.currency,
            description=f"{view.business_name}: {description}", customer_email=customer.email if customer else None,
            success_url=f"{link}/return", cancel_url=link, expires_at=expires, save_card=save_card,
            customer_reference=customer.provider_customers.get(provider) if customer and save_card else None,
            attempt=attempt,
        )  # fmt: skip
        module = PROVIDERS[provider]
        checkout = module.create_checkout(required(self._providers, scope, provider), request)
        payment = Payment(
            id=new_id("pay"), livemode=scope.livemode, customer=session.customer, invoice=session.invoice,
            provider=provider, method="card" if module.CHANNEL == "card" else None, channel=module.CHANNEL,
            amount=view.amount_due, currency=session.currency, status="pending", provider_reference=checkout.reference,
            checkout_session=session.id, checkout_url=checkout.url, description=description, created_at=to_wire(now),
            save_card=save_card,
        )  # fmt: skip
        with contextlib.suppress(Conflict):  # the provider answered an earlier request again: that payment tracks it
            self._repo.attach(scope, session, payment)
        return checkout.url

    def _session(self, token: str) -> tuple[Scope, CheckoutSession]:
        found = self._repo.by_token(token_digest(token)) if 20 <= len(token) <= 100 else None
        if found is None:
            raise NotFound("No such payment link.", param="token")
        return found

    def _view(self, scope: Scope, session: CheckoutSession, payments: Sequence[Payment]) -> PageView:
        invoice = self._lookups.invoice_of(scope, session.invoice) if session.invoice else None
        customer = self._lookups.customer_of(scope, session.customer)
        now = self._clock.now()
        state = state_of(session, invoice, payments, now)
        due = invoice.amount_due if invoice else session.amount
        open_ = state not in ("paid", "void", "expired") and due > 0 and not session.expired(now)
        methods = [method_of(name) for name in self._providers.enabled(scope) if name in PROVIDERS] if open_ else []
        name = (customer.name if customer else None) or ""
        return PageView(scope, session, self._business_name(scope), name, invoice, due, state, methods)
