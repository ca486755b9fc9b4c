"""``/v1/events``, ``/v1/meter_readings``, ``/v1/customers/{id}/usage``: usage in and out;
``/v1/customers/{id}/authorize``: may a prepaid customer use this much now. Events
are read against the usage event contract (``billing.usage.schema``), each event of a batch on
its own. The views import the domain when first called, as the services load."""

from __future__ import annotations

from typing import Any

from billing.adapters.services import meter_readings, prepaid, usage, usage_ingest
from chalicelib.http import Call, route

EVENTS_QUERY = frozenset({"customer", "code", "from", "to", "limit", "starting_after"})
JSON = dict[str, Any]


@route("/v1/events", methods=("POST",))
def send_event(call: Call) -> tuple[int, JSON]:
    from billing.usage import schema

    if usage_ingest().ingest_one(call.scope, schema.read_one(call.json(exact=True))):
        return 202, {"object": "usage_event_receipt", "status": "accepted"}
    return 200, {"object": "usage_event_receipt", "status": "duplicate"}


@route("/v1/events/batch", methods=("POST",))
def send_events(call: Call) -> JSON:
    from billing.usage import schema

    return usage_ingest().ingest(call.scope, schema.read_batch(call.json(exact=True))).to_public()


@route("/v1/events", query=EVENTS_QUERY)
def list_events(call: Call) -> JSON:
    from billing.usage.service import EventQuery

    listed = usage().list_events(call.scope, EventQuery.from_params(call.query))
    return listed.to_public(lambda event: event.to_public(call.scope.livemode))


@route("/v1/customers/{customer_id}/usage", query=frozenset({"subscription", "period"}))
def customer_usage(call: Call) -> JSON:
    from billing.usage.service import UsageQuery

    query = UsageQuery.from_params(call.query)
    return usage().usage(call.scope, call.params["customer_id"], query).to_public(call.scope.livemode)


@route("/v1/meter_readings", methods=("POST",))
def send_meter_reading(call: Call) -> tuple[int, JSON]:
    from billing.usage.readings import ReadingInput

    submitted = meter_readings().submit(call.scope, call.body(ReadingInput, exact=True))
    return (200 if submitted.status == "duplicate" else 201), submitted.to_public()


@route("/v1/customers/{customer_id}/authorize", methods=("POST",))
def authorize_usage(call: Call) -> JSON:
    from billing.prepaid.model import AuthorizeRequest

    request = call.body(AuthorizeRequest, exact=True)
    return prepaid().authorize(call.scope, call.params["customer_id"], request).to_public()
