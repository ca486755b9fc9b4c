"""``/v1/reports/...``: thin views over ``billing.reports`` (the aggregates, never a scan).
Each answers the report's JSON, or with ``?format=csv`` the same figures as a CSV download
(``text/csv``, cells that a spreadsheet would read as a formula neutralized)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from billing.adapters.services import reports
from billing.errors import InvalidRequest
from chalicelib.http import Call, Raw, route

COMMON = frozenset({"currency", "region", "tag", "format"})


def _answer(call: Call, name: str, build: Callable[[Any, Any], Any]) -> Any:
    from billing.reports import csv
    from billing.reports.query import ReportQuery

    shape = call.query.get("format", "json")
    if shape not in ("json", "csv"):
        raise InvalidRequest("format must be one of json, csv.", param="format")
    query = ReportQuery.from_params(call.query)
    report = build(call.scope, query)
    if shape == "json":
        return report.to_public()
    disposition = f'attachment; filename="{csv.filename(name, query.as_of.isoformat())}"'
    headers = {"Content-Type": "text/csv; charset=utf-8", "Content-Disposition": disposition}
    return Raw(200, csv.render(report), headers)


@route("/v1/reports/mrr", query=COMMON | {"as_of", "months", "plan"})
def mrr_report(call: Call) -> Any:
    return _answer(call, "mrr", reports().mrr)


@route("/v1/reports/revenue", query=COMMON | {"from", "to", "group_by"})
def revenue_report(call: Call) -> Any:
    return _answer(call, "revenue", reports().revenue)


@route("/v1/reports/usage", query=COMMON | {"from", "to"})
def usage_report(call: Call) -> Any:
    return _answer(call, "usage", reports().usage)


@route("/v1/reports/plans", query=COMMON | {"as_of", "months"})
def plans_report(call: Call) -> Any:
    return _answer(call, "plans", reports().plans)


@route("/v1/reports/aging", query=COMMON | {"as_of"})
def aging_report(call: Call) -> Any:
    return _answer(call, "aging", reports().aging)


@route("/v1/reports/debtors", query=COMMON | {"as_of", "limit"})
def debtors_report(call: Call) -> Any:
    return _answer(call, "debtors", reports().debtors)
