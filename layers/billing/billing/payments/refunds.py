"""Refunds made through the API: ``POST /v1/payments/{id}/refund`` (``Payments.refund``).

- What can be refunded: money that arrived and has not gone back, ``amount_received`` less
  ``amount_refunded``, of a payment that is ``succeeded``, ``partially_paid`` or ``refunded``
  in part. ``amount`` defaults to all of it. Any other status is a 422
  ``payment_not_refundable`` (nothing arrived, or a dispute took the money), nothing left a
  422 ``payment_already_refunded``, more than is left a 422 ``amount_exceeds_refundable``
  naming ``amount``. A refusal writes nothing and asks the provider nothing.
- Who moves the money: a provider that refunds through its API (``REFUNDERS``: Stripe) is
  asked first, under an idempotency key (``provider_key``). A request sent with an
  ``Idempotency-Key`` gives the provider a key derived from it and the payment: the same
  request sent again (after a timeout, a failed recording, a stored answer lost) gets the
  provider's same refund back, whatever was recorded meanwhile (the ``charge.refunded``
  webhook may have recorded it: the retry then records nothing new). A request without one
  is a new refund, as Stripe's own API: its key is made of the payment, what it had
  refunded and the amount, which only guards a retry made before anything was recorded. A
  retry after its refund was recorded may be refused by what is left (422
  ``payment_already_refunded`` or ``amount_exceeds_refundable``): nothing moves either way.
  The crypto providers have no refund call, and offline payments none at all: the tenant
  returned the money itself, and the refund is recorded only, at the customer's time (its
  test clock's).
- Recording: the rules of a provider's report (``Reports.settle``: ``settlement.advance`` and
  ``settlement.reversal``), at once, with the truth the provider answered (what it refunded
  in all): the provider's ``charge.refunded`` webhook later finds nothing new, and refunds
  racing each other each record the largest total the provider told. A recorded refund is
  checked again against what the payment has left on every attempt of its conditional write
  (at the payment's revision): two refunds of the same money cannot both be recorded. What
  went back is taken first from the customer credit the payment created, then from the
  invoices it paid, which reopen (``amount_due`` up, status ``open``); ledger entry
  ``payment_refunded``: the provider's cash credited, customer credit and receivable debited.
- ``credit_note``: the refund also corrects what it reopened, one credit note per invoice
  for what that invoice was reopened by (``CreditNotes.credit_total``), so the invoice is
  settled as it was and the customer owes nothing again. The credit note comes after the
  reversal, not before: a credit note on a paid invoice is customer credit, which the
  reversal would not take back (it takes only the credit the payment created), while on the
  reopened invoice it takes off exactly what is due again. Each write keeps
  ``amount_due = total - paid - credited`` and balances on its own. Whether each invoice has
  that much left to credit is checked before the provider is asked (422
  ``credit_exceeds_invoice`` naming ``amount``). A credit note that still cannot be issued
  after the money went back is a 409 ``credit_note_not_issued`` kept for the Idempotency-Key
  (the refund stands; issue it with ``POST /v1/credit_notes``). Credit notes follow what
  this refund reopened, whoever recorded it: this request's own write (what it reversed), or
  the provider's report recorded after this request read the payment (what the reversal of
  this refund's amount reopens from that reading, as checked before the provider was asked).
  A refund this request cannot tell the reversal of (recorded before it read the payment: a
  retry, or only in part by this write) is the 409 ``credit_note_not_issued``, never a
  silent 200 with the invoice reopened.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Protocol

from pydantic import Field

from billing import ledger
from billing.customers import Customer
from billing.errors import BillingError, Conflict, DomainRuleViolation
from billing.ids import found
from billing.payments import settlement
from billing.payments.accounts import EnabledProviders, required
from billing.payments.model import MAX_AMOUNT, Allocation, Payment
from billing.payments.providers import REFUNDERS, ProviderError, ProviderEvent
from billing.scope import Scope
from billing.validation import Input

if TYPE_CHECKING:
    from billing.payments.reports import Reports
    from billing.payments.service import CustomerInvoices, PaymentRepository
    from billing.prepaid.model import PrepaidBalance

REFUNDABLE = ("succeeded", "partially_paid", "refunded")
ATTEMPTS = 5


class RefundCreate(Input):
    """``POST /v1/payments/{id}/refund``: how much (default: all that is left) and whether the
    invoices it reopens are credited (``credit_note``) or owed again."""

    amount: Annotated[int, Field(gt=0, le=MAX_AMOUNT)] | None = None
    credit_note: bool = False


class RefundCreditNotes(Protocol):
    """What a refund with ``credit_note`` asks of ``CreditNotes``."""

    def creditable(self, scope: Scope, invoice_id: str) -> int:
        """What credit notes can still take off the invoice, taxes included."""

    def credit_total(self, scope: Scope, invoice_id: str, total: int, memo: str) -> object:
        """Issue a credit note of ``total``, taxes included, on the invoice."""


class ProviderFailed(BillingError):
    """The provider could not be reached or failed (502): nothing was refunded or recorded."""

    type = "api_error"
    default_code = "provider_error"
    status = 502


class Refunds:
    def __init__(
        self,
        repo: PaymentRepository,
        invoices: CustomerInvoices,
        customer_of: Callable[[Scope, str], Customer | None],
        balances_of: Callable[[Scope, str], dict[str, int]],
        now: Callable[[Scope, str | None], datetime],
        providers: EnabledProviders,
        reports: Reports,
        credit_notes: RefundCreditNotes | None,
        prepaid: Callable[[Scope, Customer], PrepaidBalance | None] | None = None,
    ):
        self._repo, self._invoices, self._balances_of, self._now = repo, invoices, balances_of, now
        self._customer_of, self._providers, self._reports, self._credit_notes = customer_of, providers, reports, \
            credit_notes  # fmt: skip
        self._prepaid = prepaid

    def refund(self, scope: Scope, payment_id: str, data: RefundCreate, request_key: str | None = None) -> Payment:
        """Refund ``data.amount`` (default: all that is left) of the payment, as the module
        says; the payment as it is then. ``request_key``: the request's ``Idempotency-Key``."""
        payment = found(lambda object_id: self._repo.get(scope, object_id), payment_id, "pay", "payment")
        amount = refundable(payment, data.amount)
        self._unspent(scope, payment, amount)
        expected = self._check_credit(scope, payment, amount) if data.credit_note else {}
        truth = self._truth(scope, payment, amount, request_key)
        before, after = self._reports.settle(scope, payment, truth)
        if data.credit_note:
            for invoice_id, total in self._reopened_by_this(payment, before, after, amount, expected).items():
                self._credit(scope, after, invoice_id, total)
        return after

    def _unspent(self, scope: Scope, payment: Payment, amount: int) -> None:
        """A prepaid customer's top-up is refunded only from what is left of the balance: the
        part of a refund its credit gives back (first) may not exceed the spendable balance."""
        customer = self._customer_of(scope, payment.customer)
        balance = self._prepaid(scope, customer) if self._prepaid and customer else None
        from_credit = min(amount, payment.credited)
        if balance is not None and from_credit > max(balance.wallet.balance, 0):
            raise DomainRuleViolation(
                f"The customer's prepaid balance has {max(balance.wallet.balance, 0)} left; the rest of this "
                "payment's credit was spent on usage.", code="prepaid_balance_spent", param="amount",
            )  # fmt: skip

    @staticmethod
    def _reopened_by_this(
        read: Payment, before: Payment, after: Payment, amount: int, expected: dict[str, int]
    ) -> dict[str, int]:
        """What this refund reopened, per invoice, whoever recorded it (see the module)."""
        if after.amount_refunded - before.amount_refunded == amount:  # this write recorded it, alone
            return reopened(after.allocations[len(before.allocations) :])
        if after.amount_refunded >= read.amount_refunded + amount:  # recorded (with more) after it was read
            return expected
        raise Conflict(
            "The refund was made, but it was recorded before this request could tell what it reopened (a "
            "retried request, or the provider's report first); issue its credit note with POST /v1/credit_notes.",
            code="credit_note_not_issued",
        )

    def _truth(
        self, scope: Scope, payment: Payment, amount: int, request_key: str | None
    ) -> Callable[[Payment], ProviderEvent]:
        """The truth the refund is recorded from: the provider's answer once it refunded, or,
        recorded only, ``amount`` more gone back than the payment (as stored when written)
        says, checked again against what it has left."""
        refunder = REFUNDERS.get(payment.provider)
        if refunder is None:
            customer = self._customer_of(scope, payment.customer)
            at = self._now(scope, customer.test_clock if customer else None)

            def recorded(current: Payment) -> ProviderEvent:
                refundable(current, amount)
                return ProviderEvent(
                    id=f"refund:{current.id}:{current.revision}", provider=current.provider, type="refund",
                    status="refunded", occurred_at=at, amount_received=current.amount_received,
                    amount_reversed=current.amount_refunded + amount, currency=current.currency,
                )  # fmt: skip

            return recorded
        if not payment.payment_reference:
            raise DomainRuleViolation(
                f"{payment.provider} has not told which of its payments this is; it cannot be refunded yet.",
                code="payment_not_refundable",
            )
        credentials = required(self._providers, scope, payment.provider)
        try:
            truth = refunder.refund(credentials, payment.payment_reference, amount,
                                    provider_key(payment, amount, request_key))  # fmt: skip
        except ProviderError as failed:
            if 400 <= failed.status < 500 and failed.status != 429:
                raise DomainRuleViolation(f"{failed}", code="provider_refused") from None
            raise ProviderFailed(
                f"{failed}. Nothing was recorded: send the request again (the provider gives the same refund back).",
                retryable=True,
            ) from None
        return lambda current: truth

    def _check_credit(self, scope: Scope, payment: Payment, amount: int) -> dict[str, int]:
        """Refuse, before anything moves, a refund whose credit notes could not be issued; what
        the refund reopens, per invoice, as the payment stands now."""
        assert self._credit_notes is not None, "refunds with credit notes need CreditNotes"
        paid = {a.invoice for a in payment.allocations}
        invoices = {i: invoice for i in paid if (invoice := self._invoices.get(scope, i))}
        credit = ledger.credit_available(self._balances_of(scope, payment.customer))
        undone = settlement.reversal(payment, amount, credit, invoices)
        for invoice_id, total in reopened(undone.allocations).items():
            left = self._credit_notes.creditable(scope, invoice_id)
            if total > left:
                raise DomainRuleViolation(
                    f"With credit_note, invoice {invoice_id} would be credited {total}, but only {max(left, 0)} "
                    "is left to credit on it: refund less, or without a credit note.",
                    code="credit_exceeds_invoice",
                    param="amount",
                )
        return reopened(undone.allocations)

    def _credit(self, scope: Scope, payment: Payment, invoice_id: str, total: int) -> None:
        assert self._credit_notes is not None
        memo = f"Refund of payment {payment.id}"
        for attempt in range(ATTEMPTS):
            try:
                self._credit_notes.credit_total(scope, invoice_id, total, memo)
                return
            except Conflict as race:
                if race.retryable and attempt < ATTEMPTS - 1:
                    continue
                problem: BillingError = race
                break
            except BillingError as refused:
                problem = refused
                break
        raise Conflict(
            f"The refund was made and recorded, but its credit note on invoice {invoice_id} could not be issued "
            f"({problem.message}); issue it with POST /v1/credit_notes.",
            code="credit_note_not_issued",
        )


def provider_key(payment: Payment, amount: int, request_key: str | None) -> str:
    """The provider's idempotency key of a refund (see the module): derived from the request's
    ``Idempotency-Key`` (its digest: any length, any character) and the payment when there is
    one, else from the payment, what it had refunded and the amount."""
    if request_key is None:
        return f"refund-{payment.id}-{payment.amount_refunded}-{amount}"
    return f"refund-{payment.id}-key-{hashlib.sha256(request_key.encode()).hexdigest()[:40]}"


def refundable(payment: Payment, amount: int | None) -> int:
    """What a refund of ``amount`` (None: all that is left) of ``payment`` returns; refused as
    the module says."""
    if payment.status not in REFUNDABLE:
        raise DomainRuleViolation(
            f"Only payments whose money arrived can be refunded; this one is {payment.status}.",
            code="payment_not_refundable",
        )
    left = payment.amount_received - payment.amount_refunded
    if left <= 0:
        raise DomainRuleViolation("This payment was refunded in full already.", code="payment_already_refunded")
    if amount is not None and amount > left:
        raise DomainRuleViolation(
            f"At most {left} is left to refund of this payment.", code="amount_exceeds_refundable", param="amount"
        )
    return left if amount is None else amount


def reopened(allocations: Iterable[Allocation]) -> dict[str, int]:
    """Per invoice, in order: what the negative ``allocations`` (a reversal's) took back."""
    back: dict[str, int] = defaultdict(int)
    for allocation in allocations:
        if allocation.amount < 0:
            back[allocation.invoice] -= allocation.amount
    return dict(back)
