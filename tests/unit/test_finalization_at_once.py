"""A draft with no grace period to wait for is finalized in the write of its billing step: the
same invoices, numbers, ledger and events as a draft finalized right after it, in one write."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from billing import ledger
from billing.invoicing.biller import SubscriptionBiller
from billing.invoicing.finalization import FinalizingStepWriter
from billing.invoicing.model import Invoice
from billing.invoicing.runs import InvoiceRuns, RunRequest
from billing.subscriptions.model import ChangePlan
from billing.validation import parse
from tests.unit.fakes import MemoryDueIndex, MemoryQueue, MemoryRunStore
from tests.unit.invoicing_world import SCOPE, Billing

JAN = datetime(2026, 1, 1, tzinfo=UTC)


class Writes:
    """Counts the store's writes: steps, and finalizations after them."""

    def __init__(self, w: Billing) -> None:
        self.steps = self.finalizations = 0
        step, finalize = w.invoices_repo.apply_step, w.invoices_repo.finalize

        def counted_step(*args: Any, **kwargs: Any) -> Any:
            self.steps += 1
            return step(*args, **kwargs)

        def counted_finalize(*args: Any, **kwargs: Any) -> Any:
            self.finalizations += 1
            return finalize(*args, **kwargs)

        w.invoices_repo.apply_step = counted_step  # type: ignore[method-assign]
        w.invoices_repo.finalize = counted_finalize  # type: ignore[method-assign]


def finalizing(w: Billing) -> SubscriptionBiller:
    """The world's biller writing through ``FinalizingStepWriter``, as the services wire it."""
    writer = FinalizingStepWriter(w.invoices_repo, lambda scope: w.settings)
    return SubscriptionBiller(
        w.subscription_repo, writer, w.customer_repo, w.lookups, w.usage, lambda scope: w.settings, w.clock
    )


def world(**settings: Any) -> Billing:
    w = Billing(JAN, **settings)
    w.create("meter", code="calls", name="API calls", aggregation="count")
    w.create("plan", code="yearly", name="Yearly", currency="USD", interval="year", base_fee=120000)
    w.create("plan", code="monthly", name="Monthly", currency="USD", interval="month", base_fee=12000,
             charges=[{"meter": "calls", "model": "per_unit", "unit_amount": "3"}])  # fmt: skip
    w.create("tax_rate", name="VAT", percent="20", country="DE")
    w.create("coupon", code="WELCOME", name="Welcome", percent_off="10", duration="once")
    return w


def story(w: Billing, bill: Any) -> list[Invoice]:
    """A downgrade whose credit pays the next invoices, with usage, tax and a coupon."""
    cus = w.customer(address={"country": "DE"})
    sub = w.subscribe(cus, "yearly", coupon="WELCOME")
    invoices = bill(sub)
    w.at(JAN + timedelta(days=1))
    w.subscriptions.change_plan(SCOPE, sub, parse(ChangePlan, {"plan": "monthly"}))
    invoices += bill(sub)
    w.send(cus, "calls", datetime(2026, 1, 20, tzinfo=UTC), "c1")
    for month in (2, 3):
        w.at(datetime(2026, month, 2, tzinfo=UTC))
        invoices += bill(sub)
    return invoices


def comparable(invoices: list[Invoice], journal: list[ledger.JournalEntry]) -> Any:
    """The invoices as the API shows them and the journal's postings, with each id (and the
    line ids made from invoice ids) named by where it first appears: ids are drawn at random."""
    names: dict[str, str] = {}

    def name(found: re.Match[str]) -> str:
        return names.setdefault(found.group(0), f"#{len(names)}")

    entries = [(e.kind, e.at, [vars(p) for p in e.postings]) for e in journal]
    return json.loads(re.sub(r"(?<=_)[0-9a-z]{26}", name, json.dumps([[i.to_public() for i in invoices], entries])))


def test_a_draft_due_at_once_is_finalized_in_the_write_of_its_step_with_the_same_result() -> None:
    apart, together = world(), world()
    separately = story(apart, apart.bill)
    writes = Writes(together)
    biller = finalizing(together)
    at_once = story(together, lambda sub: biller.bill(SCOPE, sub, together.clock.now()))
    assert [invoice.status for invoice in at_once] == ["open", "paid", "paid", "paid"]
    customer = at_once[0].customer
    assert comparable(at_once, together.invoices.journal(SCOPE, customer)) == comparable(
        separately, apart.invoices.journal(SCOPE, separately[0].customer)
    )
    assert [(i.number, i.applied_balance) for i in at_once] == [(i.number, i.applied_balance) for i in separately]
    assert (writes.steps, writes.finalizations) == (4, 0)  # one write per invoice
    assert ledger.balances(together.invoices.journal(SCOPE, customer)) == together.invoices_repo.balances(
        SCOPE, customer
    )
    kinds = [re.sub("Subscription.*", "Subscription", event.type) for event in together.invoices_repo.events]
    assert kinds == [re.sub("Subscription.*", "Subscription", event.type) for event in apart.invoices_repo.events]
    assert kinds.count("InvoiceCreated") == kinds.count("InvoiceFinalized") == 4


def test_a_draft_with_a_grace_period_is_written_as_a_draft_and_finalized_later() -> None:
    w = world(grace_period=3600)
    writes = Writes(w)
    biller = finalizing(w)
    sub = w.subscribe(w.customer(address={"country": "DE"}), "monthly")
    [draft] = biller.bill(SCOPE, sub, w.clock.now())
    assert (draft.status, draft.finalize_at) == ("draft", "2026-01-01T01:00:00Z")
    assert w.invoices.finalize_if_due(SCOPE, draft.id, w.clock.now()) is None  # not yet
    w.advance(hours=1)
    final = w.invoices.finalize_if_due(SCOPE, draft.id, w.clock.now())
    assert final is not None and (final.number, final.issued_at) == ("INV-2026-000001", "2026-01-01T01:00:00Z")
    assert (writes.steps, writes.finalizations) == (1, 1)


def test_a_run_counts_the_invoices_finalized_in_the_write_of_their_step() -> None:
    w = world()
    biller = finalizing(w)
    subs = [w.subscribe(w.customer(), "monthly") for _ in range(3)]
    queue = MemoryQueue()
    due = MemoryDueIndex(w.subscription_repo, w.invoices_repo)
    runs = InvoiceRuns(MemoryRunStore(), due, queue, biller, w.invoices, w.clock)
    run = runs.start(SCOPE, RunRequest.model_validate({}))
    while queue:
        runs.handle(queue.pop(0))
    done = runs.get(SCOPE, run.id)
    assert done.status == "completed"
    assert (done.counts["invoices_created"], done.counts["invoices_finalized"]) == (3, 3)
    assert all(i.status == "open" for sub in subs for i in w.invoices_repo.of_subscription(SCOPE, sub))
