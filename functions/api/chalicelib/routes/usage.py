"""``/v1/events``, ``/v1/meter_readings``, ``/v1/customers/{id}/usage``: usage in and out."""

from __future__ import annotations

from typing import Any

from billing.adapters.services import meter_readings, usage, usage_ingest
from chalicelib.http import Call, route

EVENTS_QUERY = frozenset({"customer", "code", "from", "to", "limit", "starting_after"})


@route("/v1/events", methods=("POST",))
def send_event(call: Call) -> tuple[int, dict[str, Any]]:
    if usage_ingest().ingest_one(call.scope, call.json(exact=True)):
        return 202, {"object": "usage_event_receipt", "status": "accepted"}
    return 200, {"object": "usage_event_receipt", "status": "duplicate"}


@route("/v1/events/batch", methods=("POST",))
def send_events(call: Call) -> dict[str, Any]:
    return usage_ingest().ingest_batch(call.scope, call.json(exact=True)).to_public()


@route("/v1/events", query=EVENTS_QUERY)
def list_events(call: Call) -> dict[str, Any]:
    return usage().list_events(call.scope, call.query)


@route("/v1/customers/{customer_id}/usage", query=frozenset({"subscription", "period"}))
def customer_usage(call: Call) -> dict[str, Any]:
    return usage().usage(call.scope, call.params["customer_id"], call.query)


@route("/v1/meter_readings", methods=("POST",))
def send_meter_reading(call: Call) -> tuple[int, dict[str, Any]]:
    reading = meter_readings().submit(call.scope, call.json(exact=True))
    return (200 if reading["status"] == "duplicate" else 201), reading
