"""Saved cards: a card kept when the customer asks on the hosted page, forgotten on request.

- Saving: the card form of ``/pay/<token>`` has a "Save this card for future invoices" box; a
  payment started with it (``Payment.save_card``) asks the provider to keep the card
  (Stripe: the Checkout Session on the customer's Stripe customer, created by Stripe the first
  time, with ``setup_future_usage=off_session``). When the provider's report moves that payment
  to money received, the card it names (the provider's customer and payment method, brand and
  last four digits) becomes the customer's ``default_payment_method``, replacing an earlier
  one, and the provider's customer id is kept (``provider_customers``), so a card saved later
  goes on the same provider customer. The customer changes with a ``CustomerUpdated`` event.
- Only the report that moves the payment saves the card: a report delivered again (days later,
  after the customer forgot the card) saves nothing. Known limit: the card is written after
  the payment, so a process stopped between the two writes leaves the payment settled and the
  card not saved (the customer saves it on a next payment).
- Forgetting (``DELETE /v1/customers/{id}/payment_method``) clears the default; the provider's
  customer id is kept and the card stays on it at the provider (detach it there if wanted).
- Charging a saved card when an invoice is finalized: ``billing.payments.off_session``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Protocol

from billing.customers.model import Customer, SavedCard
from billing.errors import Conflict, NotFound
from billing.events import DomainEvent
from billing.payments.model import Payment
from billing.payments.providers import ProviderEvent
from billing.scope import Scope

ATTEMPTS = 5  # the customer may change meanwhile (a PATCH, a payment giving it a currency)


class CustomerStore(Protocol):
    def get(self, scope: Scope, customer_id: str) -> Customer | None: ...

    def save(self, scope: Scope, customer: Customer, previous: Customer, event: DomainEvent) -> None:
        """Replace ``previous`` (compared by version); ``Conflict`` on a race."""


class SavedCards:
    def __init__(self, customers: CustomerStore, now: Callable[[Scope, str | None], datetime]):
        """``now``: the customer's time (its test clock's, if any)."""
        self._customers, self._now = customers, now

    def remember(self, scope: Scope, payment: Payment, truth: ProviderEvent) -> Customer | None:
        """The card ``truth`` names as the default of the customer of ``payment``, a card payment
        the customer asked to save that has just received money; None when there is nothing to
        save (not asked, no card named)."""
        if not payment.save_card or not truth.payment_method or not truth.customer_reference:
            return None
        card = SavedCard(payment.provider, truth.customer_reference, truth.payment_method, truth.card_brand,
                         truth.card_last4)  # fmt: skip

        def save(customer: Customer, now: datetime) -> Customer:
            providers = {**customer.provider_customers, card.provider: card.customer_reference}
            return replace(customer, default_payment_method=replace(card, saved_at=now), provider_customers=providers)

        return self._change(scope, payment.customer, save)

    def forget(self, scope: Scope, customer_id: str) -> Customer:
        """Clear the customer's default payment method (a 404 naming ``customer_id``)."""

        def clear(customer: Customer, now: datetime) -> Customer:
            return replace(customer, default_payment_method=None)

        return self._change(scope, customer_id, clear)

    def _change(self, scope: Scope, customer_id: str, change: Callable[[Customer, datetime], Customer]) -> Customer:
        for attempt in range(ATTEMPTS):
            current = self._customers.get(scope, customer_id)
            if current is None:
                raise NotFound(f"No such customer: '{customer_id}'", param="customer_id")
            now = self._now(scope, current.test_clock)
            updated = change(current, now)
            if _card_of(updated) == _card_of(current) and updated.provider_customers == current.provider_customers:
                return current  # nothing new: no write, no event
            updated = replace(updated, version=current.version + 1)
            previous = {"default_payment_method": current.to_public()["default_payment_method"]}
            event = DomainEvent("CustomerUpdated", scope, now, {"object": updated.to_public(),
                                                                "previous_attributes": previous})  # fmt: skip
            try:
                self._customers.save(scope, updated, current, event)
                return updated
            except Conflict:
                if attempt == ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")


def _card_of(customer: Customer) -> SavedCard | None:
    """The customer's card, when it was saved aside."""
    card = customer.default_payment_method
    return replace(card, saved_at=None) if card else None
