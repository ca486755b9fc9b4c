"""Report rules with worked examples: MRR normalized to a month (monthly, yearly / 12, weekly x
12/52, add-on quantities, forever and repeating coupons, trials, pauses, cancellations), MRR
movements, aging buckets with DSO and the collection rate, CSV neutralization, and the
difference the aggregator applies. Every expected figure is worked out here by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from billing.catalog.add_ons import AddOn
from billing.catalog.coupons import Coupon
from billing.catalog.plans import Plan
from billing.customers.model import Customer
from billing.errors import InvalidRequest
from billing.invoicing.model import Invoice
from billing.reports import csv, mrr, sources
from billing.reports.buckets import Bucket, delta, slices, total
from billing.reports.memory import MemoryReader
from billing.reports.model import MrrReport
from billing.reports.query import ReportQuery
from billing.reports.records import Counted, Debt, Ref
from billing.reports.service import Reports
from billing.scope import Scope
from billing.subscriptions.model import HistoryEntry, Subscription

SCOPE = Scope("ten_1", livemode=False)
AT = "2026-01-10T00:00:00Z"


def plan(code: str, fee: int, interval: str = "month", count: int = 1) -> Plan:
    return Plan(id=f"plan_{code}", object="plan", livemode=False, created_at=AT, code=code, version=1, name=code,
                description=None, currency="USD", interval=interval, interval_count=count, base_fee=fee,
                trial_days=0, charges=[])  # type: ignore[arg-type]  # fmt: skip


PLANS = {p.id: p for p in (plan("m", 1000), plan("y", 120_000, "year"), plan("w", 1200, "week"),
                           plan("q", 3000, "month", 3))}  # fmt: skip
SEATS = AddOn(id="addon_seat", object="add_on", livemode=False, created_at=AT, code="seat", name="Seat",
              description=None, amount=500, currency="USD", interval="month", interval_count=1, supplier=None,
              invoice_display_name=None)  # fmt: skip
SETUP = SEATS.model_copy(update={"id": "addon_setup", "code": "setup", "interval": None})


def coupon(duration: str, periods: int | None = None, percent: str | None = "10", amount: int | None = None) -> Coupon:
    return Coupon(id="cpn_1", object="coupon", livemode=False, created_at=AT, code="C", name=None,
                  percent_off=percent, amount_off=amount, currency="USD" if amount else None, duration=duration,
                  duration_in_periods=periods, redeem_by=None, max_redemptions=None, applies_to_plans=[])  # type: ignore[arg-type]  # fmt: skip


def catalog(found: Coupon | None = None) -> mrr.Catalog:
    return mrr.Catalog(PLANS.__getitem__, {"seat": SEATS, "setup": SETUP}.get, lambda code: found)


def sub(plan_id: str = "plan_m", status: str = "active", **fields: Any) -> Subscription:
    return Subscription(id="sub_1", livemode=False, customer="cus_1", plan=plan_id, plan_code=PLANS[plan_id].code,
                        currency="USD", status=status, start_date=AT, billing_anchor=AT, trial_end=None,
                        current_period_start=AT, current_period_end=AT, created_at=AT, **fields)  # type: ignore[arg-type]  # fmt: skip


def entry(at: str, kind: str, status: str = "active", plan_id: str = "plan_m", **details: Any) -> HistoryEntry:
    return HistoryEntry(at=at, type=kind, status=status, plan=plan_id, details=details)  # type: ignore[arg-type]


def now_mrr(subscription: Subscription, history: list[HistoryEntry], found: Coupon | None = None) -> int:
    return mrr.timeline(subscription, history, catalog(found))[-1].mrr


@pytest.mark.parametrize(
    ("plan_id", "expected"),
    [("plan_m", 1000), ("plan_y", 10_000), ("plan_w", 5200), ("plan_q", 1000)],  # 1200 x 52 / 12 = 5200
)
def test_recurring_fees_are_normalized_to_a_month(plan_id: str, expected: int) -> None:
    assert now_mrr(sub(plan_id), [entry(AT, "created", plan_id=plan_id)]) == expected


def test_recurring_add_ons_count_times_their_quantity_and_one_offs_do_not() -> None:
    seats = {"add_on": "seat", "add_on_id": "addon_seat", "quantity": 3, "added_at": AT}
    setup = {"add_on": "setup", "add_on_id": "addon_setup", "quantity": 1, "added_at": AT}
    assert now_mrr(sub(add_ons=[seats, setup]), [entry(AT, "created")]) == 1000 + 3 * 500


def test_forever_coupons_count_repeating_ones_while_they_last_once_never() -> None:
    created, renewed = entry(AT, "created"), entry("2026-02-10T00:00:00Z", "renewed")
    assert now_mrr(sub(coupon="C"), [created], coupon("forever")) == 900
    assert now_mrr(sub(coupon="C"), [created], coupon("once")) == 1000
    two = coupon("repeating", periods=2)
    points = mrr.timeline(sub(coupon="C"), [created, renewed, entry("2026-03-10T00:00:00Z", "renewed")], catalog(two))
    assert [p.mrr for p in points] == [900, 900, 1000]
    yearly_off = coupon("forever", percent=None, amount=12_000)  # 120.00 off a yearly invoice = 10.00 a month
    assert now_mrr(sub("plan_y", coupon="C"), [entry(AT, "created", plan_id="plan_y")], yearly_off) == 9000


def test_trials_pauses_and_cancellations_count_nothing() -> None:
    history = [entry(AT, "created", "trialing"), entry("2026-01-24T00:00:00Z", "renewed"),
               entry("2026-02-01T00:00:00Z", "paused", "paused"), entry("2026-02-05T00:00:00Z", "resumed"),
               entry("2026-03-01T00:00:00Z", "canceled", "canceled")]  # fmt: skip
    assert [p.mrr for p in mrr.timeline(sub(status="canceled"), history, catalog())] == [0, 1000, 0, 1000, 0]


def test_movements_new_expansion_contraction_churn_reactivation_per_day() -> None:
    history = [entry("2026-01-10T00:00:00Z", "created"),
               entry("2026-01-12T00:00:00Z", "plan_changed", plan_id="plan_y"),
               entry("2026-01-15T00:00:00Z", "plan_changed"), entry("2026-01-20T00:00:00Z", "paused", "paused"),
               entry("2026-01-25T00:00:00Z", "resumed")]  # fmt: skip
    points = mrr.timeline(sub(), history, catalog())
    buckets = sources.subscription("USD", points, None)
    totals = {b.date: c for b, c in buckets.items() if b.group == ""}
    assert totals == {
        "2026-01-10": {"mrr": 1000, "subs": 1, "new": 1000},
        "2026-01-12": {"mrr": 9000, "expansion": 9000},
        "2026-01-15": {"mrr": -9000, "contraction": 9000},
        "2026-01-20": {"mrr": -1000, "subs": -1, "churn": 1000},
        "2026-01-25": {"mrr": 1000, "subs": 1, "reactivation": 1000},
    }
    pro = {b.date: c for b, c in buckets.items() if b.group == "plan:y"}
    assert pro == {"2026-01-12": {"mrr": 10_000, "subs": 1, "new": 10_000},
                   "2026-01-15": {"mrr": -10_000, "subs": -1, "churn": 10_000}}  # fmt: skip


def test_the_report_sums_movements_of_its_month_and_month_end_levels() -> None:
    history = [
        entry("2025-12-20T00:00:00Z", "created"),
        entry("2026-01-12T00:00:00Z", "plan_changed", plan_id="plan_y"),
    ]
    points = mrr.timeline(sub("plan_y"), history, catalog())
    counted = [Counted(Ref("sub", "sub_1"), "cus_1", sources.subscription("USD", points, None), ("all",))]
    report = Reports(MemoryReader(counted), lambda s, ids: {}).mrr(SCOPE, ReportQuery("USD", date(2026, 1, 31),
                                                                                        months=2))  # fmt: skip
    assert report == MrrReport("USD", "2026-01-31", 10_000, {"expansion": 9000, "new": 0, "contraction": 0,
                               "churn": 0, "reactivation": 0}, (("2025-12", 1000), ("2026-01", 10_000)))  # fmt: skip
    assert report.to_public()["arr"] == 120_000


def invoice(due: str, amount_due: int, total_: int, status: str = "open") -> Invoice:
    return Invoice(id=f"inv_{due}", livemode=False, customer="cus_1", billing_reason="manual", currency="USD",
                   period_start=AT, period_end=AT, created_at=AT, issued_at="2026-03-02T00:00:00Z", due_date=due,
                   status=status, total=total_, amount_due=amount_due)  # type: ignore[arg-type]  # fmt: skip


def test_aging_buckets_days_past_due_at_as_of_with_dso_and_collection_rate() -> None:
    found = [invoice("2026-03-31", 100, 100), invoice("2026-03-30", 200, 200), invoice("2026-03-01", 300, 300),
             invoice("2026-01-30", 400, 400), invoice("2026-01-01", 500, 500), invoice("2025-12-30", 600, 600),
             invoice("2026-03-20", 0, 700, "paid"), invoice("2026-03-21", 0, 50, "void")]  # fmt: skip
    counted = [Counted(Ref("inv", i.id), "cus_1", sources.invoice(i, None, str), ("all",)) for i in found]
    aging = Reports(MemoryReader(counted), lambda s, ids: {}).aging(SCOPE, ReportQuery("USD", date(2026, 3, 31)))
    # 0 days late: current; 1: 1-30; 30: 1-30; 60: 31-60; 89: 61-90; 91: 90+
    assert aging.buckets == {"current": 100, "1_30": 500, "31_60": 400, "61_90": 500, "90_plus": 600}
    assert (aging.total, aging.open_invoices) == (2100, 6)
    # window: 2026-01-01 .. 2026-03-31 = 90 days; invoiced 2,800 (void left out), nothing collected
    assert aging.dso == "67.5"  # 2100 x 90 / 2800 = 67.5
    assert aging.collection_rate == "0.0000"


def test_csv_neutralizes_cells_a_spreadsheet_would_run_and_keeps_numbers() -> None:
    class Table:
        def rows(self) -> list[list[Any]]:
            return [["name", "amount"], ["=1+1", -5], ["+x", None], ["-y", 3], ["@z", 0], ["\tt", 1], ["ok", 2]]

    assert csv.render(Table()).split("\r\n") == ["name,amount", "'=1+1,-5", "'+x,", "'-y,3", "'@z,0", "'\tt,1",
                                                 "ok,2", ""]  # fmt: skip


def test_a_contribution_moves_only_by_its_difference() -> None:
    b1, b2 = Bucket("REV", "USD", "all", "", "2026-01"), Bucket("AGE", "USD", "all", "", "2026-02-01")
    old, new = {b1: {"invoiced": 100}, b2: {"due": 100, "n": 1}}, {b1: {"invoiced": 100}}
    assert delta(old, new) == {b2: {"due": -100, "n": -1}}
    assert delta(new, new) == {}
    assert total([old, delta(old, new)]) == new


def test_customer_slices_and_debtors_rank_by_what_is_owed() -> None:
    who = Customer(id="cus_1", livemode=False, created_at=datetime.now(UTC), address={"region": "north"},
                   tags=("b", "a"))  # fmt: skip
    assert slices(who) == ["all", "region:north", "tag:a", "tag:b"]
    tagged = Customer(
        id="cus_2", livemode=False, created_at=datetime.now(UTC), tags=tuple(f"t{n:02d}" for n in range(50))
    )
    assert slices(tagged) == ["all", "tag:t00", "tag:t01", "tag:t02", "tag:t03", "tag:t04"]  # a transaction's room
    debts = [Counted(Ref("inv", f"inv_{n}"), f"cus_{n % 2}", {}, ("all",),
                     Debt(f"inv_{n}", "USD", 100 * n, f"2026-01-0{n}")) for n in (1, 2, 3)]  # fmt: skip
    top = MemoryReader(debts).debtors(SCOPE, "USD", "all", 10)
    assert [(d.customer, d.amount, d.oldest_due, d.invoices) for d in top] == [
        ("cus_1", 400, "2026-01-01", 2), ("cus_0", 200, "2026-01-02", 1)]  # fmt: skip


def test_queries_name_the_bad_parameter() -> None:
    today = date(2026, 3, 31)
    for params, param in (({}, "currency"), ({"currency": "USD", "from": "2026-13"}, "from"),
                          ({"currency": "USD", "limit": "101"}, "limit"),
                          ({"currency": "USD", "from": "2026-04", "to": "2026-03"}, "from")):  # fmt: skip
        with pytest.raises(InvalidRequest) as raised:
            ReportQuery.from_params(params, today)
        assert raised.value.param == param
    query = ReportQuery.from_params({"currency": "USD", "tag": "vip"}, today)
    assert (query.slice, query.since, query.until) == ("tag:vip", "2025-04", "2026-03")
