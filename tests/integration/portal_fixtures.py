"""A portal customer made through the API, shared by the portal's integration and browser
tests: on a test clock, a plan with a water meter billed on a supplier's behalf, a second
plan to change to, meter readings (10 m3 in January), and two finalized open invoices."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from tests.integration.conftest import Reply

JAN = "2026-01-01T00:00:00Z"
MID_JAN = "2026-01-15T00:00:00Z"
FEB = "2026-02-01T02:00:00Z"
EVIL = "<script>alert(1)</script>"
FORM = "application/x-www-form-urlencoded"


class Client(Protocol):
    def request(self, method: str, path: str, key: str | None = None, body: Any = None) -> Reply: ...

    def get(self, path: str, key: str | None = None) -> Reply: ...

    def post(self, path: str, key: str | None = None, body: Any = None) -> Reply: ...


@dataclass(frozen=True)
class PortalCustomer:
    id: str
    clock: str
    invoices: list[dict[str, Any]]  # oldest first


def portal_customer(api: Client, key: str, drain: Callable[[], None], name: str = f"Jane {EVIL}") -> PortalCustomer:
    """The catalog (once per tenant) and a customer billed for January and February; ``drain``
    runs the stack's plumbing (the usage aggregator reads the readings' events)."""
    if api.get("/v1/plans?code=basic", key).body["data"] == []:
        catalog = [
            ("/v1/suppliers", {"code": "water", "name": f"Water {EVIL} Works"}),
            ("/v1/meters", {"code": "water_m3", "name": "Water", "aggregation": "sum", "field": "m3"}),
            ("/v1/plans", {"code": "basic", "name": "Basic", "currency": "USD", "interval": "month", "base_fee": 1000,
                           "charges": [{"meter": "water_m3", "model": "per_unit", "unit_amount": "200",
                                        "supplier": "water"}]}),
            ("/v1/plans", {"code": "plus", "name": "Plus", "currency": "USD", "interval": "month", "base_fee": 3000,
                           "charges": [{"meter": "water_m3", "model": "per_unit", "unit_amount": "150",
                                        "supplier": "water"}]}),
            ("/v1/add_ons", {"code": "support", "name": "Support", "amount": 500, "currency": "USD",
                             "interval": "month"}),
        ]  # fmt: skip
        for path, body in catalog:
            assert api.post(path, key, body).status == 201, (path, body)
        opened = api.request("PATCH", "/v1/settings", key, {"portal_plans": ["plus"]})  # customers may pick plus
        assert opened.status == 200, opened.body
    clock = api.post("/v1/test_clocks", key, {"frozen_time": JAN}).body["id"]
    created = api.post("/v1/customers", key, {"name": name, "currency": "USD", "test_clock": clock,
                                              "email": "jane@example.com"})  # fmt: skip
    assert created.status == 201, created.body
    customer = created.body["id"]
    sub = {"customer": customer, "plan": "basic", "add_ons": [{"add_on": "support"}]}
    assert api.post("/v1/subscriptions", key, sub).status == 201
    reading = {"customer": customer, "meter": "water_m3", "reading": "100", "timestamp": JAN,
               "reading_id": f"base-{customer}"}  # fmt: skip
    assert api.post("/v1/meter_readings", key, reading).status == 201
    assert api.post(f"/v1/test_clocks/{clock}/advance", key, {"to": MID_JAN}).status == 200
    reading = {**reading, "reading": "110", "timestamp": MID_JAN, "reading_id": f"jan-{customer}"}  # 10 m3 in January
    assert api.post("/v1/meter_readings", key, reading).status == 201
    drain()
    advanced = api.post(f"/v1/test_clocks/{clock}/advance", key, {"to": FEB})
    assert advanced.status == 200, advanced.body
    invoices = list(reversed(api.get(f"/v1/invoices?customer={customer}", key).body["data"]))
    assert [i["status"] for i in invoices] == ["open", "open"], invoices
    return PortalCustomer(customer, clock, invoices)


def portal_link(api: Client, key: str, customer: str, **body: str) -> str:
    created = api.post("/v1/portal_sessions", key, {"customer": customer, **body})
    assert created.status == 201, created.body
    return str(created.body["url"])


def form_token(html: str) -> str:
    found = re.search(r'name="form_token" value="([^"]+)"', html)
    assert found, html
    return found.group(1)
