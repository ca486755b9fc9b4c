"""The domain event bus of ``template.yaml`` (EventBridge)."""

from __future__ import annotations

import json
from typing import Any

from billing.adapters import aws
from billing.events import SOURCE
from billing.settings import get_settings, required


class EventBridgeBus:
    def publish(self, envelope: dict[str, Any]) -> None:
        """One entry with ``detail-type`` = the event type; a refused entry is an error."""
        entry = {
            "EventBusName": required(get_settings().event_bus_name, "EVENT_BUS_NAME"),
            "Source": SOURCE,
            "DetailType": envelope["type"],
            "Detail": json.dumps(envelope),
            "Resources": [],
        }
        response = aws.client("events").put_events(Entries=[entry])
        if response.get("FailedEntryCount"):
            raise RuntimeError(f"EventBridge refused event {envelope['id']}: {response['Entries'][0]}")
