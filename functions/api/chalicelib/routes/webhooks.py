"""``/webhooks/{provider}/{endpoint_id}``: the payment providers' signed webhooks, public (no API
key: the signature, checked with the endpoint's account secret, is the authentication) and
throttled on their own (template.yaml). Verified, stored, queued, answered 200 at once
(``billing.payments.webhooks``); refused with a 400, storing nothing, otherwise."""

from __future__ import annotations

from typing import Any

from billing.adapters.services import webhooks
from chalicelib.http import Call, route


@route("/webhooks/{provider}/{endpoint_id}", methods=("POST",), auth=False)
def receive_webhook(call: Call) -> dict[str, Any]:
    receipt = webhooks().receive(call.params["provider"], call.params["endpoint_id"], call.raw_body, call.headers)
    return receipt.to_public()
