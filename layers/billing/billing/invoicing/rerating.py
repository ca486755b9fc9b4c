"""Re-rating: a period's quantities computed again from its stored events.

Invoices are rated from the running totals (``billing.usage.totals``); this computes the
same quantities from the raw events, in one pass, for audits, re-rating after a correction,
and the property that re-rating a finalized period reproduces its lines. Events are grouped
by (subscription, period, meter, group) and each group is reduced with its meter's
aggregation; reductions run over whole groups (builtins, not one Python step per event).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from operator import attrgetter

from billing.periods import seconds
from billing.usage.model import UsageEvent
from billing.usage.totals import QUANTUM, combine

Key = tuple[str, str, str]  # subscription, period start, meter code
_value = attrgetter("value")


def _latest(events: Sequence[UsageEvent]) -> Decimal:
    return max(events, key=lambda e: (e.timestamp, e.transaction_id)).value


def _weighted(events: Sequence[UsageEvent]) -> Decimal:
    """Increments weighted by the share of the period left after them (level carried in: 0)."""
    first = events[0]
    length = seconds(first.period_start, first.period_end)
    if not length:
        return Decimal(0)
    weighted = sum((e.value * seconds(e.timestamp, e.period_end) for e in events), Decimal(0))
    return (weighted / length).quantize(QUANTUM)


REDUCE: dict[str, Callable[[Sequence[UsageEvent]], Decimal]] = {
    "count": lambda events: Decimal(len(events)),
    "sum": lambda events: sum(map(_value, events), Decimal(0)),
    "max": lambda events: max(map(_value, events)),
    "latest": _latest,
    "unique_count": lambda events: Decimal(len({e.unique for e in events})),
    "weighted_sum": _weighted,
}


def quantities(events: Iterable[UsageEvent]) -> dict[Key, tuple[Decimal, int]]:
    """Per (subscription, period start, meter): the quantity over all groups, and the event count."""
    grouped: dict[tuple[str, str, str, str], list[UsageEvent]] = defaultdict(list)
    for event in events:
        grouped[event.subscription, event.period_start, event.code, event.group_key if event.group else ""].append(
            event
        )
    per_meter: dict[Key, tuple[str, list[Decimal], int]] = {}
    for (subscription, period_start, code, _), members in grouped.items():
        key = (subscription, period_start, code)
        aggregation = members[0].aggregation
        _, found, count = per_meter.setdefault(key, (aggregation, [], 0))
        found.append(REDUCE[aggregation](members))
        per_meter[key] = (aggregation, found, count + len(members))
    return {key: (combine(aggregation, found), count) for key, (aggregation, found, count) in per_meter.items()}
