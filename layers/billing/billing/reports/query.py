"""What a report is asked for: ``ReportQuery``, parsed from a query string (a 400 naming the
parameter for a bad value) or built by the dashboard directly.

- ``currency`` (required: reports never add different currencies, and a tenant has no
  default currency);
- one filter at most: ``region`` or ``tag`` (the customer's), and ``plan`` (a plan code;
  ``mrr`` only). Filters are not combined (each is an aggregate slice of its own);
- ``as_of`` (a day, UTC; default today) for ``mrr``, ``plans``, ``aging``, ``debtors``;
  ``months`` (1-36, default 12): how many month ends ``series`` shows, ending with ``as_of``'s;
- ``from``/``to`` (months ``YYYY-MM``, inclusive; default the 12 months ending with ``as_of``'s)
  and ``group_by`` (``month``, ``plan``, ``meter``, ``supplier``) for ``revenue``; ``limit``
  (1-100, default 10) for ``debtors``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Literal, get_args

from billing.currency import is_currency
from billing.errors import InvalidRequest
from billing.reports.buckets import ALL
from billing.validation import choice_param

GroupBy = Literal["month", "plan", "meter", "supplier"]
MONTH = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])$")


@dataclass(frozen=True)
class ReportQuery:
    currency: str
    as_of: date
    slice: str = ALL  # ``region:{region}``, ``tag:{tag}``
    plan: str | None = None
    months: int = 12
    since: str = ""  # YYYY-MM, inclusive; "": 11 months before ``until``
    until: str = ""  # YYYY-MM, inclusive; "": ``as_of``'s month
    group_by: GroupBy = "month"
    limit: int = 10

    def __post_init__(self) -> None:
        if not self.until:
            object.__setattr__(self, "until", self.as_of.isoformat()[:7])
        if not self.since:
            object.__setattr__(self, "since", _months_before(self.until, 11))

    @classmethod
    def from_params(cls, params: Mapping[str, str], today: date | None = None) -> ReportQuery:
        """The query a request's parameters ask for; dates default to ``today`` (UTC's, unless given)."""
        from billing.clock import SystemClock

        today = today or SystemClock().now().date()
        currency = params.get("currency", "")
        if not currency:
            raise InvalidRequest("currency is required: reports never add different currencies.",
                                 code="parameter_missing", param="currency")  # fmt: skip
        if not is_currency(currency):
            raise InvalidRequest("currency must be an ISO 4217 code in upper case, e.g. USD.", param="currency")
        filters = [name for name in ("region", "tag", "plan") if params.get(name)]
        if len(filters) > 1:
            raise InvalidRequest("Give one filter at most (region, tag or plan).", param=filters[1])
        where = next((f"{name}:{params[name]}" for name in ("region", "tag") if params.get(name)), ALL)
        as_of = _day(params, "as_of", today)
        until = _month(params, "to", as_of.isoformat()[:7])
        since = _month(params, "from", _months_before(until, 11))
        if since > until:
            raise InvalidRequest("from must not be after to.", param="from")
        group_by: GroupBy = choice_param(params, "group_by", get_args(GroupBy)) or "month"
        months, limit = _int(params, "months", 12, 1, 36), _int(params, "limit", 10, 1, 100)
        return cls(currency, as_of, where, params.get("plan") or None, months, since, until, group_by, limit)


def _day(params: Mapping[str, str], name: str, default: date) -> date:
    if name not in params:
        return default
    value = params[name]
    try:
        if len(value) != 10:
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidRequest(f"{name} must be a day, YYYY-MM-DD.", param=name) from None


def _month(params: Mapping[str, str], name: str, default: str) -> str:
    value = params.get(name, default)
    if not MONTH.match(value):
        raise InvalidRequest(f"{name} must be a month, YYYY-MM.", param=name)
    return value


def _int(params: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    value = params.get(name)
    if value is None:
        return default
    if not value.isdigit() or not low <= int(value) <= high:
        raise InvalidRequest(f"{name} must be an integer from {low} to {high}.", param=name)
    return int(value)


def _months_before(month: str, n: int) -> str:
    index = int(month[:4]) * 12 + int(month[5:7]) - 1 - n
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def months_between(since: str, until: str) -> list[str]:
    """Every month from ``since`` to ``until`` (``YYYY-MM``), both included."""
    first, last = (int(m[:4]) * 12 + int(m[5:7]) - 1 for m in (since, until))
    return [f"{i // 12:04d}-{i % 12 + 1:02d}" for i in range(first, last + 1)]


def months_ending(month: str, n: int) -> list[str]:
    return months_between(_months_before(month, n - 1), month)
