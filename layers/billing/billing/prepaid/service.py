"""Prepaid use cases: charge an event as it is ingested, authorize usage, read the balance.

Charging is the ingestion of a prepaid customer's event: the event is rated at once
(``rating``), the tenant's rules decide (``policy``), and the store writes the raw event (if
its transaction id is new), the meter's running state and the debit of the balance in one
transaction, with the notices the debit emits (outbox). The transaction is conditional on what
the decision was made from (the running state's version, the side of each boundary the balance
is on, and under a refusing policy that the balance still covers the debit): a debit racing
another one of the same customer is read and decided again, so concurrent debits never
overdraw and each crossing is announced once. A duplicate transaction id debits nothing.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from billing.cache import TtlCache
from billing.catalog.charges import Charge
from billing.clock import Clock, SystemClock
from billing.customers import Customer
from billing.errors import Conflict, DomainRuleViolation, InvalidRequest, NotFound
from billing.events import DomainEvent
from billing.prepaid import rating
from billing.prepaid.model import Authorization, AuthorizeRequest, InsufficientBalance, PrepaidBalance, Wallet
from billing.prepaid.policy import EXHAUSTED, LOW, Decision, PrepaidPolicy, decide
from billing.scope import Scope
from billing.usage.model import UsageEvent
from billing.usage.schema import EventInput
from billing.usage.stamping import Directory

ATTEMPTS = 50
STATE_TTL_S = 60.0
"""How long a container decides a customer's next debit from the state it last saw (``_state``)."""


@dataclass(frozen=True)
class MeterPeriod:
    """Where a meter's running state is kept: one per subscription period and meter."""

    subscription: str
    period_start: str
    code: str


@dataclass(frozen=True)
class Debit:
    """One event's write: the event, the running state it moves (None: its meter is not rated
    at once or not charged), the decision, and the notices it emits."""

    event: UsageEvent
    meter: MeterPeriod
    step: rating.Step | None
    decision: Decision
    covered_required: bool
    notices: tuple[DomainEvent, ...]

    @property
    def amount(self) -> int:
        return self.step.amount if self.step else 0


class AlreadyStored(Exception):
    """The event's transaction id is stored: a duplicate, nothing written."""


class Stale(Exception):
    """The balance or the running state changed since it was read: decide again."""


class PrepaidStore(Protocol):
    def read(self, scope: Scope, customer: str, meter: MeterPeriod | None) -> tuple[Wallet, rating.Running]:
        """The customer's wallet and the meter's running state (a fresh one when none), read
        consistently."""

    def debit(self, scope: Scope, debit: Debit) -> None:
        """Write the event, its running state, the debit and its notices at once, conditional
        on what the decision read; ``AlreadyStored`` or ``Stale`` when a condition fails."""

    def stored(self, scope: Scope, transaction_id: str) -> bool: ...

    def wallet(self, scope: Scope, customer: str) -> Wallet: ...


Prepare = Callable[[Scope, EventInput], UsageEvent]
"""Stamp an event without storing it (``UsageIngest.prepare``): an authorization is priced as
the event it announces would be."""


class PrepaidCharging:
    def __init__(
        self,
        store: PrepaidStore,
        directory: Directory,
        policy_of: Callable[[Scope], PrepaidPolicy],
        prepare: Prepare,
        clock: Clock | None = None,
    ):
        self._store, self._directory, self._policy_of, self._prepare = store, directory, policy_of, prepare
        self._clock = clock or SystemClock()
        self._wallets: TtlCache[Wallet] = TtlCache(STATE_TTL_S)  # as last seen: see ``_state``
        self._running: TtlCache[rating.Running] = TtlCache(STATE_TTL_S)

    # ------------------------------------------------------------------ ingestion
    def charges(self, scope: Scope, event: UsageEvent) -> bool:
        """True when the event's customer is prepaid: ``charge`` stores it."""
        customer = self._directory.customer(scope, event.customer)
        return customer is not None and customer.billing_mode == "prepaid"

    def charge(self, scope: Scope, event: UsageEvent) -> bool:
        """Store and debit a stamped event: True if this call created it, False for a duplicate
        (nothing debited). A refusing tenant's customer without the balance for it: nothing is
        stored and ``InsufficientBalance`` names the event."""
        customer = self._customer(scope, event.customer, "customer")
        policy = self._policy_of(scope)
        charges, aggregation = self._charges(scope, event), event.aggregation
        meter = MeterPeriod(event.subscription, event.period_start, event.code)
        rated = bool(charges) and rating.rated_at_once(aggregation)
        fresh = False
        for attempt in range(ATTEMPTS):
            wallet, running = self._state(scope, customer.id, meter if rated else None, fresh)
            if (meter.subscription, meter.period_start) in wallet.closed:
                raise DomainRuleViolation(
                    f"The billing period from {meter.period_start} is closed: its statement is final.",
                    code="period_closed", param="timestamp",
                )  # fmt: skip
            step = rating.step(charges, aggregation, running, event.value) if rated else None
            decision = decide(policy, wallet.balance, step.amount if step else 0)
            if not decision.allowed:
                if not fresh:  # refused only on what the store holds now
                    fresh = True
                    continue
                if self._store.stored(scope, event.transaction_id):
                    return False
                raise InsufficientBalance(
                    f"The balance of customer '{customer.id}' ({wallet.balance}) does not cover event "
                    f"'{event.transaction_id}' ({decision.amount}).",
                    param="transaction_id",
                )
            notices = self._notices(scope, customer, decision, policy)
            debit = Debit(event, meter, step, decision, policy.at_zero == "refuse", notices)
            try:
                self._store.debit(scope, debit)
            except AlreadyStored:
                return False
            except Stale:
                fresh = True
                time.sleep(min(0.002 * attempt, 0.05) * random.random())
                continue
            after = Wallet(wallet.balance - debit.amount, wallet.unbilled + debit.amount)
            self._remember(scope, customer.id, after, meter if step else None, step.after if step else running)
            return True
        raise Conflict("The balance changed too often meanwhile; retry.", code="concurrent_update", retryable=True)

    # ------------------------------------------------------------------ authorize
    def authorize(self, scope: Scope, ref: str, request: AuthorizeRequest) -> Authorization:
        """The price of ``quantity`` of a meter at this moment of the customer's period, and
        whether the balance covers it. Nothing is reserved: the debit of the usage itself is
        what is guaranteed never to overdraw (a refusing tenant's event is refused then)."""
        customer = self._customer(scope, ref, "customer_id")
        if customer.billing_mode != "prepaid":
            raise DomainRuleViolation(f"Customer '{customer.id}' is not prepaid.", code="customer_not_prepaid")
        meter = self._directory.meter(scope, request.meter)
        if meter is None:
            raise NotFound(f"No such meter: '{request.meter}'", param="meter")
        events, properties = 1, dict(request.properties or {})
        if meter.aggregation == "count" or meter.field is None:
            if request.quantity != request.quantity.to_integral_value():
                raise InvalidRequest("quantity counts events of a count meter: a whole number.", param="quantity")
            events = int(request.quantity)
        else:
            properties[meter.field] = str(request.quantity)
        sent = EventInput(transaction_id="authorize", customer=customer.id, code=meter.code, properties=properties)
        try:
            event = self._prepare(scope, sent)
        except DomainRuleViolation as refused:
            param = {"code": "meter", f"properties.{meter.field}": "quantity"}.get(refused.param or "", refused.param)
            raise DomainRuleViolation(refused.message, code=refused.code, param=param) from None
        charges = self._charges(scope, event)
        wallet, running = self._store.read(
            scope, customer.id, MeterPeriod(event.subscription, event.period_start, event.code)
        )
        amount = 0
        if charges and rating.rated_at_once(meter.aggregation):
            amount = rating.step(charges, meter.aggregation, running, event.value * events, events).amount
        allowed = decide(self._policy_of(scope), wallet.balance, amount).covered
        return Authorization(
            customer.id, meter.code, request.quantity, customer.currency, amount, wallet.balance, allowed
        )

    # ------------------------------------------------------------------ balance
    def balance(self, scope: Scope, customer: Customer) -> PrepaidBalance | None:
        """A prepaid customer's balance (None for a postpaid one)."""
        if customer.billing_mode != "prepaid":
            return None
        return PrepaidBalance(customer.currency, self._store.wallet(scope, customer.id), self._policy_of(scope))

    # ------------------------------------------------------------------ helpers
    def _state(
        self, scope: Scope, customer: str, meter: MeterPeriod | None, fresh: bool
    ) -> tuple[Wallet, rating.Running]:
        """The wallet and running state a debit is decided from: as this container last wrote
        or read them, else (or ``fresh``) read from the store. A decision on a state that is no
        longer stored fails the debit's conditions (``Stale``) and is made again on a fresh read,
        and a refusal is only ever made on one; so the cache saves the read of a customer's
        next event, never decides alone."""
        if not fresh:
            wallet = self._wallets.get((scope, customer), lambda: None)
            running = self._running.get((scope, meter), lambda: None) if meter else rating.Running()
            if wallet is not None and running is not None:
                return wallet, running
        wallet, running = self._store.read(scope, customer, meter)
        self._remember(scope, customer, wallet, meter, running)
        return wallet, running

    def _remember(
        self, scope: Scope, customer: str, wallet: Wallet, meter: MeterPeriod | None, running: rating.Running
    ) -> None:
        self._wallets.get((scope, customer), lambda: wallet, fresh=True)
        if meter:
            self._running.get((scope, meter), lambda: running, fresh=True)

    def _customer(self, scope: Scope, ref: str, param: str) -> Customer:
        customer = self._directory.customer(scope, ref)
        if customer is None:
            raise NotFound(f"No such customer: '{ref}'", param=param)
        return customer

    def _charges(self, scope: Scope, event: UsageEvent) -> list[Charge]:
        """The charges on the event's meter of its subscription's plan; none during a trial,
        whose usage is never billed."""
        subscriptions = self._directory.subscriptions_of(scope, event.customer)
        found = next((s for s in subscriptions if s.id == event.subscription), None)
        if found is None or (found.trial_end is not None and event.timestamp < found.trial_end):
            return []
        return rating.charges_of(self._directory.plan(scope, found.plan).charges, event.code)

    def _notices(
        self, scope: Scope, customer: Customer, decision: Decision, policy: PrepaidPolicy
    ) -> tuple[DomainEvent, ...]:
        now: datetime = self._clock.now()
        notices = []
        for boundary in decision.crossed:
            data: dict[str, object] = {
                "customer": customer.id,
                "currency": customer.currency,
                "balance": decision.after,
            }
            if boundary.event == LOW:
                data["threshold"] = policy.low_balance_threshold
            notices.append(DomainEvent(boundary.event, scope, now, data))
        order = {LOW: 0, EXHAUSTED: 1}
        return tuple(sorted(notices, key=lambda n: order[n.type]))
