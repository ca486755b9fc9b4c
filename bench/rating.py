"""Rating stored usage events in-process, against a bare loop over the same events.

``EVENTS`` stored events (``UsageEvent`` objects, as the usage table holds them) for
``SUBSCRIPTIONS`` subscriptions of one plan: two meters, API calls (``count``, priced
``graduated`` in three tiers) and traffic (``sum`` of bytes, ``per_unit``). Rating is what a
re-rating of these periods does: ``billing.invoicing.rerating.quantities`` (group by
subscription, period and meter, reduce with each meter's aggregation) and then each
subscription's usage lines (``billing.invoicing.usage_lines``, the pricing models, rounding
per line). The baseline is a bare Python loop that only sums each subscription's values.

Figures (best of ``ROUNDS``, after one warm-up):
- ``events_per_s``: events rated per second.
- ``ratio_to_bare_loop``: our time / the bare loop's time (target <= 4).
- ``lines``: usage lines produced (2 per subscription), as a check that work was done.
"""

from __future__ import annotations

import os
import random
import time
from collections import defaultdict
from decimal import Decimal

from billing.catalog.plans import Plan
from billing.invoicing.rerating import quantities
from billing.invoicing.usage_lines import usage_lines
from billing.usage.model import UsageEvent
from billing.usage.totals import MeterTotal

EVENTS = int(os.environ.get("BENCH_RATING_EVENTS", 1_000_000))
SUBSCRIPTIONS = 10_000
ROUNDS = 3
PERIOD = ("2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z")
PLAN = Plan.model_validate({
    "id": "plan_01bench00000000000000000000", "object": "plan", "livemode": False, "created_at": PERIOD[0],
    "code": "bench", "version": 1, "name": "Bench", "description": None, "currency": "USD", "interval": "month",
    "interval_count": 1, "base_fee": 0, "trial_days": 0,
    "charges": [
        {"meter": "calls", "model": "graduated", "tiers": [
            {"up_to": 50, "unit_amount": "0", "flat_amount": 0}, {"up_to": 500, "unit_amount": "0.2", "flat_amount": 0},
            {"up_to": None, "unit_amount": "0.1", "flat_amount": 0}]},
        {"meter": "traffic", "model": "per_unit", "unit_amount": "0.0005", "free_units": 0},
    ],
})  # fmt: skip


def _events() -> list[UsageEvent]:
    rng = random.Random(11)
    events = []
    for n in range(EVENTS):
        sub = f"sub_{n % SUBSCRIPTIONS:026d}"
        code, aggregation = ("calls", "count") if (n // SUBSCRIPTIONS) % 2 else ("traffic", "sum")
        events.append(
            UsageEvent(
                transaction_id=f"t{n}",
                customer=f"cus_{n % SUBSCRIPTIONS}",
                code=code,
                timestamp=f"2026-03-{1 + n % 28:02d}T12:00:00Z",
                properties={},
                subscription=sub,
                period_start=PERIOD[0],
                period_end=PERIOD[1],
                aggregation=aggregation,
                value=Decimal(1 if code == "calls" else rng.randint(1, 5000)),
                group={},
                received_at=PERIOD[0],
            )
        )
    return events


def _rate(events: list[UsageEvent]) -> int:
    per_subscription: dict[str, dict[str, MeterTotal]] = defaultdict(dict)
    for (sub, _, code), (quantity, count) in quantities(events).items():
        per_subscription[sub][code] = MeterTotal(code, "", quantity, count)
    names = {"calls": "API calls", "traffic": "Traffic"}
    lines = 0
    for totals in per_subscription.values():
        lines += len(usage_lines(PLAN, totals, names, PERIOD, lambda code: []))
    return lines


def _bare(events: list[UsageEvent]) -> int:
    totals: dict[str, Decimal] = {}
    for event in events:
        totals[event.subscription] = totals.get(event.subscription, Decimal(0)) + event.value
    return len(totals)


def _best(work: object, events: list[UsageEvent]) -> tuple[float, int]:
    assert callable(work)
    result = work(events)  # warm-up
    best = float("inf")
    for _ in range(ROUNDS):
        started = time.perf_counter()
        result = work(events)
        best = min(best, time.perf_counter() - started)
    return best, result


def run() -> dict[str, float | int | str]:
    events = _events()
    ours, lines = _best(_rate, events)
    bare, _ = _best(_bare, events)
    return {
        "events_per_s": round(EVENTS / ours),
        "bare_loop_events_per_s": round(EVENTS / bare),
        "ratio_to_bare_loop": round(ours / bare, 2),
        "lines": lines,
    }
