"""The dunning run against in-memory stores that keep the real write conditions (the record's
revision, a pending item's amount): steps once each, interest on one item raised day by day
and started anew once billed, races retried, a write-off that balances."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from typing import Any

from billing.collections.debt import Debt
from billing.collections.dunning import Collaborators, Dunning, DunningRecord, DunningWrite
from billing.collections.invoice_items import InvoiceItem
from billing.collections.policy import DunningPolicy, DunningPolicyUpdate
from billing.customers.model import Customer, Suspension
from billing.errors import Conflict
from billing.invoicing.model import Invoice
from billing.scope import Scope
from billing.validation import parse

SCOPE = Scope("ten_test", livemode=False)
DUE = date(2026, 3, 15)
PRINCIPAL = 1_000_000
AT = datetime(2026, 3, 1, tzinfo=UTC)


def policy(**extra: Any) -> DunningPolicy:
    body = {
        "steps": [
            {"days_after_due": 1, "action": "reminder"},
            {"days_after_due": 30, "action": "late_fee", "amount": 500},
            {"days_after_due": 40, "action": "suspend"},
            {"days_after_due": 60, "action": "mark_uncollectible"},
        ],
        "penalty_interest": {"annual_rate": "16", "schedule": [{"from_day": 31, "fraction": "1/300"},
                                                               {"from_day": 91, "fraction": "1/130"}]},
        **extra,
    }  # fmt: skip
    return DunningPolicy.of(parse(DunningPolicyUpdate, body))


def open_invoice() -> Invoice:
    return Invoice(
        id="inv_01kn00000000000000000000aa", livemode=False, customer="cus_1", billing_reason="manual",
        currency="RUB", period_start="2026-03-01T00:00:00Z", period_end="2026-03-01T00:00:00Z",
        created_at="2026-03-01T00:00:00Z", status="open", due_date="2026-03-15T00:00:00Z", total=PRINCIPAL,
        amount_due=PRINCIPAL, number="INV-1",
    )  # fmt: skip


class Memory:
    """The stores, with the conditions DynamoDB checks."""

    def __init__(self, invoice: Invoice) -> None:
        self.invoices = {invoice.id: invoice}
        self.records: dict[str, DunningRecord] = {}
        self.items: dict[str, InvoiceItem] = {}
        self.customer = Customer(id="cus_1", livemode=False, created_at=AT)
        self.events: list[str] = []
        self.journal: list[Any] = []
        self.fail_next = 0

    # DunningStore
    def records_of(self, scope: Scope, ids: Sequence[str]) -> dict[str, DunningRecord]:
        return {i: self.records[i] for i in ids if i in self.records}

    def write(self, scope: Scope, write: DunningWrite) -> None:
        if self.fail_next:
            self.fail_next -= 1
            raise Conflict("raced", code="concurrent_update", retryable=True)
        held = self.invoices[write.source.id]
        if (held.revision, held.status) != (write.source.revision, "open"):
            raise Conflict("invoice moved", code="concurrent_update")
        current = self.records.get(write.record.invoice)
        if (current.revision if current else 0) != write.revision:
            raise Conflict("record moved", code="concurrent_update")
        if write.raised_item:
            item = self.items[write.raised_item.item.id]
            if item.invoice is not None or item.amount != write.raised_item.before:
                raise Conflict("item billed", code="concurrent_update")
            self.items[item.id] = write.raised_item.item
        if write.new_item:
            self.items[write.new_item.id] = write.new_item
        if write.customer:
            self.customer = replace(self.customer, suspension=write.suspension)
        if write.invoice:
            self.invoices[write.invoice.id] = write.invoice
        if write.journal:
            self.journal.append(write.journal)
        self.records[write.record.invoice] = write.record
        self.events += [event.type for event in write.events]

    # OpenInvoices
    shards = 1

    def due_by(self, scope: Scope, until: date, clock: str | None, shard: int | None = None) -> Iterable[list[Invoice]]:
        due = [i for i in self.invoices.values() if i.status == "open" and i.due_date and i.due_date[:10] <= str(until)]
        return [due] if due else []

    def bill(self, item_id: str) -> None:
        """An invoice bills the pending item (what a billing step does)."""
        self.items[item_id] = self.items[item_id].model_copy(update={"invoice": "inv_next"})


class Store:
    def __init__(self, memory: Memory) -> None:
        self.memory = memory

    def records(self, scope: Scope, invoice_ids: Sequence[str]) -> dict[str, DunningRecord]:
        return self.memory.records_of(scope, invoice_ids)

    def write(self, scope: Scope, write: DunningWrite) -> None:
        self.memory.write(scope, write)


def dunning(memory: Memory, terms: DunningPolicy) -> Dunning:
    debt = Debt("RUB", PRINCIPAL, 0, 0, ())
    with_ = Collaborators(
        policy=lambda scope: terms, customer_of=lambda scope, i: memory.customer,
        invoice_of=lambda scope, i: memory.invoices.get(i), item_of=lambda scope, i: memory.items.get(i),
        debt_of=lambda scope, i, day: debt, bill_at_once=_no_own_invoice, notice=lambda *args: ("key.pdf", None),
    )  # fmt: skip
    return Dunning(Store(memory), memory, with_)


def _no_own_invoice(*args: Any) -> Any:
    raise AssertionError("the policy bills late fees on the next invoice")


def interest(days: int) -> int:
    low, high = max(min(days, 90) - 30, 0), max(days - 90, 0)
    exact = PRINCIPAL * Fraction(16, 100) * (Fraction(low, 300) + Fraction(high, 130))
    return int((Decimal(exact.numerator) / exact.denominator).quantize(Decimal(1), ROUND_HALF_EVEN))


def pending_interest(memory: Memory) -> list[int]:
    return [i.amount for i in memory.items.values() if i.kind == "penalty_interest"]


def test_each_step_is_taken_once_and_interest_rides_one_item_raised_daily() -> None:
    memory = Memory(open_invoice())
    run = dunning(memory, policy())
    for n in range(0, 36):
        run.run(SCOPE, DUE + timedelta(days=n))
        run.run(SCOPE, DUE + timedelta(days=n))  # twice a day: the second finds nothing
    assert memory.events.count("InvoiceReminder") == 1
    assert memory.events.count("LateFeeCharged") == 1
    assert pending_interest(memory) == [interest(35)]
    assert memory.events.count("PenaltyInterestCharged") == 5  # days 31 to 35


def test_interest_billed_meanwhile_starts_a_new_item_and_the_sum_is_rounded_once() -> None:
    memory = Memory(open_invoice())
    run = dunning(memory, policy(steps=[]))
    for n in range(30, 100):
        run.run(SCOPE, DUE + timedelta(days=n))
        if n in (33, 95):  # the customer's invoices bill what is pending
            for item in list(memory.items.values()):
                if item.pending:
                    memory.bill(item.id)
    amounts = pending_interest(memory)
    assert len(amounts) == 3 and sum(amounts) == interest(99)  # not three roundings: one


def test_a_catch_up_run_takes_the_steps_in_order_and_a_write_off_balances() -> None:
    memory = Memory(open_invoice())
    summary = dunning(memory, policy()).run(SCOPE, DUE + timedelta(days=70))
    assert summary.steps == {"reminder": 1, "late_fee": 1, "suspend": 1, "mark_uncollectible": 1}
    assert memory.events == [
        "InvoiceReminder",
        "InvoiceItemCreated",
        "LateFeeCharged",
        "CustomerSuspended",
        "InvoiceMarkedUncollectible",
    ]  # fmt: skip (no interest once written off)
    written_off = memory.invoices[open_invoice().id]
    assert (written_off.status, written_off.amount_due, written_off.amount_written_off) == (
        "uncollectible", 0, PRINCIPAL
    )  # fmt: skip
    [entry] = memory.journal
    assert sum(p.debit for p in entry.postings) == sum(p.credit for p in entry.postings) == PRINCIPAL
    assert memory.customer.suspension is not None and memory.customer.suspension.reason == "suspended_for_debt"
    assert dunning(memory, policy()).run(SCOPE, DUE + timedelta(days=71)).invoices == 0


def test_a_customer_suspended_already_is_not_suspended_again() -> None:
    memory = Memory(open_invoice())
    memory.customer = replace(memory.customer, suspension=Suspension("balance_exhausted", AT))
    dunning(memory, policy()).run(SCOPE, DUE + timedelta(days=45))
    assert "CustomerSuspended" not in memory.events
    assert memory.customer.suspension is not None and memory.customer.suspension.reason == "balance_exhausted"


def test_a_race_is_retried_from_what_is_stored_and_a_lasting_one_is_left_for_the_next_run() -> None:
    memory = Memory(open_invoice())
    memory.fail_next = 1
    dunning(memory, policy()).run(SCOPE, DUE + timedelta(days=1))
    assert memory.events == ["InvoiceReminder"]
    memory.fail_next = 3  # every try of this run
    summary = dunning(memory, policy()).run(SCOPE, DUE + timedelta(days=31))
    assert summary.failed == [open_invoice().id] and not summary.steps
    assert dunning(memory, policy()).run(SCOPE, DUE + timedelta(days=31)).steps == {"late_fee": 1}  # caught up


def test_the_daily_job_queues_one_message_per_shard_of_each_scope_with_a_policy() -> None:
    from billing.collections.dunning import ShardRun

    memory = Memory(open_invoice())
    sent: list[dict[str, Any]] = []

    class Queue:
        def send(self, bodies: Sequence[dict[str, Any]]) -> None:
            sent.extend(bodies)

    other = Scope("ten_none", livemode=True)
    terms = {SCOPE: policy(), other: DunningPolicy()}
    run = dunning(memory, policy())
    run._with = replace(run._with, policy=lambda scope: terms[scope])
    assert run.schedule([SCOPE, other], Queue()) == 1  # one shard here; the scope without a policy: none
    message = ShardRun.of(sent[0])
    assert (message.scope, message.shard) == (SCOPE, 0)


def test_an_empty_policy_reads_nothing() -> None:
    memory = Memory(open_invoice())
    memory.invoices.clear()  # a read would find nothing anyway; the summary says none was read
    assert dunning(memory, DunningPolicy()).run(SCOPE, DUE).invoices == 0


def test_a_customer_is_reinstated_only_when_nothing_is_overdue_and_only_once() -> None:
    from billing.collections.access import CustomerAccess

    suspended = Customer(id="cus_1", livemode=False, created_at=AT, status="suspended",
                         suspension=Suspension("suspended_for_debt", AT))  # fmt: skip
    state = {"customer": suspended, "open": [open_invoice()], "writes": 0}

    class Access:
        def set_suspension(self, scope: Scope, customer: Customer, suspension: Any, events: Any) -> None:
            state["writes"] += 1
            state["customer"] = replace(customer, suspension=suspension, status="active")

    def now(scope: Scope, clock: str | None) -> datetime:
        return datetime(2026, 4, 1, tzinfo=UTC)

    access = CustomerAccess(Access(), lambda s, i: state["customer"], lambda s, i: state["open"], now,
                            lambda s, c: state.get("balance"))  # fmt: skip
    assert access.review(SCOPE, "cus_1") is None  # still overdue
    state["open"] = [open_invoice().model_copy(update={"due_date": "2026-04-01T00:00:00Z"})]  # due today: not overdue
    reinstated = access.review(SCOPE, "cus_1")
    assert reinstated is not None and reinstated.allowed
    assert access.review(SCOPE, "cus_1") is None and state["writes"] == 1
    state["customer"] = replace(suspended, suspension=Suspension("balance_exhausted", AT))
    state["balance"] = -5
    assert access.review(SCOPE, "cus_1") is None  # a prepaid balance still at or below zero
    state["balance"] = 100
    assert access.review(SCOPE, "cus_1") is not None  # topped up
    state["customer"] = replace(suspended, suspension=Suspension("by_hand", AT))
    assert access.review(SCOPE, "cus_1") is None  # another kind of suspension: not ours to lift


def test_an_invoice_paid_after_it_was_read_is_neither_fined_nor_its_customer_suspended() -> None:
    memory = Memory(open_invoice())
    run = dunning(memory, policy(penalty_interest=None))
    original = memory.write

    def paid_meanwhile(scope: Scope, write: DunningWrite) -> None:
        if "LateFeeCharged" in [event.type for event in write.events]:  # a payment lands first
            memory.invoices[write.source.id] = write.source.model_copy(
                update={"status": "paid", "amount_due": 0, "revision": write.source.revision + 1}
            )
        original(scope, write)

    memory.write = paid_meanwhile  # type: ignore[method-assign]
    summary = run.run(SCOPE, DUE + timedelta(days=45))
    assert summary.steps == {"reminder": 1}  # the fee's write failed, the invoice was read again: paid
    assert "late_fee" not in {i.kind for i in memory.items.values()}
    assert memory.customer.suspension is None


def test_a_partial_payment_lowers_the_interest_from_then_on_and_never_stops_it() -> None:
    memory = Memory(open_invoice())
    run = dunning(memory, policy(steps=[]))
    for n in range(30, 51):
        run.run(SCOPE, DUE + timedelta(days=n))
        if n == 40:  # 900,000 of 1,000,000 paid after day 40's run
            paid = memory.invoices[open_invoice().id]
            memory.invoices[paid.id] = paid.model_copy(update={"amount_due": 100_000, "revision": paid.revision + 1})
    exact = Fraction(16, 100) * Fraction(1, 300) * (10 * 1_000_000 + 10 * 100_000)
    assert pending_interest(memory) == [round(exact)]  # 5,866.67: days 41-50 on what is left
    record = memory.records[open_invoice().id]
    assert (record.accrued, record.accrued_days, record.top_principal) == (exact, 50, 1_000_000)


def test_the_cap_holds_the_sum_and_the_accrual_still_moves_on() -> None:
    memory = Memory(open_invoice())
    capped_policy = policy(steps=[], penalty_interest={"annual_rate": "16", "cap_percent": "1",
                                                       "schedule": [{"from_day": 1, "fraction": "1/300"}]})  # fmt: skip
    for n in range(1, 41):
        dunning(memory, capped_policy).run(SCOPE, DUE + timedelta(days=n))
    assert pending_interest(memory) == [10_000]  # 1% of 1,000,000; uncapped it would be 21,333
    assert memory.records[open_invoice().id].accrued_days == 40
