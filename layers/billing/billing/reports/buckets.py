"""Aggregates as buckets, and a source record's contribution to them.

A bucket is one aggregate: a report (``MRR``, ``REV``, ``AGE``), a currency (reports never
add different currencies), a slice of the tenant's customers (``all``, ``region:{region}``,
``tag:{tag}``: the filters), a group within it (``""``, ``plan:{code}``, ``meter:{code}``,
``supplier:{code}``: what a report groups by) and a date (a day, or a month ``YYYY-MM``).
Each holds integer counters (money in minor units, counts).

A source record (a subscription, an invoice, a payment, a credit note) contributes amounts to
buckets, computed from the record alone (its own dates, never when an event arrived). The
aggregator keeps each record's last contribution and adds only the difference to the
buckets; the rebuild adds every record's whole contribution to empty buckets. Both therefore
reach the same sums, whatever order or how often events arrive.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from billing.customers.model import Customer

Counters = dict[str, int]


@dataclass(frozen=True, order=True)
class Bucket:
    report: str
    currency: str
    slice: str
    group: str
    date: str


Contribution = dict[Bucket, Counters]

ALL = "all"


MAX_TAG_SLICES = 5
"""Tags a customer's records count under, at most (its first ones, in order): a record writes
its buckets once per slice in one transaction (at most 100 items), so a customer with 50 tags
must not make every invoice of its unwritable. A report filtered by a later tag leaves that
customer out."""


def slices(customer: Customer | None) -> list[str]:
    """The slices a customer's records count in: every customer's, its region's, each of its
    first ``MAX_TAG_SLICES`` tags'."""
    if customer is None:
        return [ALL]
    region = (customer.address or {}).get("region")
    tags = sorted(set(customer.tags))[:MAX_TAG_SLICES]
    return [ALL, *([f"region:{region}"] if region else []), *(f"tag:{tag}" for tag in tags)]


def add(into: Contribution, bucket: Bucket, **counters: int) -> None:
    """Add ``counters`` to ``bucket`` in ``into``, keeping only non-zero counters."""
    held = into.setdefault(bucket, {})
    for name, value in counters.items():
        if value:
            held[name] = held.get(name, 0) + value
            if not held[name]:
                del held[name]
    if not held:
        del into[bucket]


def spread(into: Contribution, report: str, currency: str, where: Sequence[str], groups: Iterable[str],
           date: str, **counters: int) -> None:  # fmt: skip
    """Add ``counters`` to the bucket of each slice in ``where`` and each group in ``groups``."""
    for group in groups:
        for slice_ in where:
            add(into, Bucket(report, currency, slice_, group, date), **counters)


def delta(old: Contribution, new: Contribution) -> Contribution:
    """What to add to the buckets to go from ``old`` to ``new``: the non-zero differences."""
    changes: Contribution = {}
    for bucket in old.keys() | new.keys():
        before, after = old.get(bucket, {}), new.get(bucket, {})
        diff = {name: after.get(name, 0) - before.get(name, 0) for name in before.keys() | after.keys()}
        add(changes, bucket, **diff)
    return changes


def total(contributions: Iterable[Contribution]) -> Contribution:
    """The sum of several contributions (the rebuild's buckets)."""
    summed: Contribution = {}
    for contribution in contributions:
        for bucket, counters in contribution.items():
            add(summed, bucket, **counters)
    return summed


def to_json(contribution: Contribution) -> list[list[Any]]:
    """A compact, storable form: ``[[report, currency, slice, group, date, counters], ...]``."""
    return [[b.report, b.currency, b.slice, b.group, b.date, c] for b, c in sorted(contribution.items())]


def from_json(rows: Iterable[Sequence[Any]]) -> Contribution:
    return {Bucket(*row[:5]): {k: int(v) for k, v in row[5].items()} for row in rows}
