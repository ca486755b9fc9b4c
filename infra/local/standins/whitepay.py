"""Whitepay's stand-in: crypto orders, their hosted form, and signed webhooks.

Serves ``POST /private-api/crypto-orders/{slug}`` and ``GET
/private-api/crypto-orders/{slug}/{order id}`` (Bearer token; an order is read with the token
that created it), and the order's form at ``/crypto-orders/{order id}`` (its
``acquiring_url``). Sending an amount records a completed transaction and raises
``received_total``: the full value (or more) completes the order (``transaction::completed``,
then ``order::completed``), less makes it ``PARTIALLY_FULFILLED``
(``order::partially_fulfilled``) and the form stays open for the rest; "expire" declines an
unpaid order (``order::declined``). Then it redirects to ``successful_link`` (or
``failure_link``).

Signing: the ``Signature`` header is the hex HMAC-SHA256, with the webhook token registered for
the store's slug, of the payload serialized as PHP's ``json_encode`` does (``\\/``, ``\\uXXXX``),
while the body on the wire is compact JSON with plain ``/``: the difference integrators report
for the real service (see ``billing.payments.providers.whitepay``), so our verifier meets it.

Rollbacks: returning an overpayment's excess is the merchant's decision in Whitepay's CRM, so
the stand-in takes it from the stand-in-only ``POST /_standin/whitepay/rollbacks {"order",
"to": "client"|"merchant", "amount"?}`` (default: all the excess not yet rolled back): a
completed transaction of type ``ROLLBACK_TO_CLIENT`` (or ``ROLLBACK_TO_MERCHANT``) in the
order's currency joins the order's ``transactions`` (``received_total`` keeps what arrived),
and ``rollback::to_client`` (or ``rollback::to_merchant``) is sent with it.

Limits: the payer pays in the order's currency (``received_currency`` = ``currency``, no
exchange rate); no network confirmations, fees nor withdrawals; the rollback transaction's
shape is our reading of Whitepay's order API; any non-empty token is accepted for a slug.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from infra.local.standins.server import (
    Handler,
    Request,
    Response,
    StandIn,
    crypto_page,
    decimal,
    hmac_hex,
    json_response,
    plain,
    redirect,
)

EXTERNAL_ID = re.compile(r"^[A-Za-z0-9_-]{1,255}$")


class WhitepayStandIn(StandIn):
    name = "whitepay"

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._orders: dict[str, dict[str, Any]] = {}  # id -> order (with its slug and token)
        super().__init__(host, port)

    def routes(self) -> list[tuple[str, str, Handler]]:
        return [
            ("POST", r"/private-api/crypto-orders/(?P<slug>[^/]+)", self._create),
            ("GET", r"/private-api/crypto-orders/(?P<slug>[^/]+)/(?P<id>[^/]+)", self._show),
            ("GET", r"/crypto-orders/(?P<id>[^/]+)", self._page),
            ("POST", r"/crypto-orders/(?P<id>[^/]+)/pay", self._pay),
            ("POST", r"/crypto-orders/(?P<id>[^/]+)/expire", self._expire),
            ("POST", r"/_standin/whitepay/rollbacks", self._rollback),
        ]

    def _create(self, request: Request) -> Response:
        token, data = request.bearer(), request.json()
        if not token:
            return _error(401, "Unauthenticated.")
        if not isinstance(data, dict):
            return _error(422, "The body must be a JSON object.")
        amount = decimal(data.get("amount"))
        if amount is None or amount <= 0:
            return _error(422, "The amount field is required and must be a positive number.")
        if not isinstance(data.get("currency"), str) or not data["currency"]:
            return _error(422, "The currency field is required.")
        external = data.get("external_order_id")
        if external is not None and not (isinstance(external, str) and EXTERNAL_ID.match(external)):
            return _error(422, "The external order id format is invalid.")
        order_id = str(uuid.uuid4())
        order = {
            "id": order_id, "currency": data["currency"], "order_number": str(len(self._orders) + 1).zfill(9),
            "value": plain(amount), "expected_amount": plain(amount), "received_total": "0",
            "exchange_rate": None, "is_internal": False, "deposited_currency": data["currency"],
            "received_currency": data["currency"], "status": "OPEN", "external_order_id": external,
            "created_at": _now(), "completed_at": None, "acquiring_url": f"{self.base_url}/crypto-orders/{order_id}",
            "successful_link": data.get("successful_link"), "failure_link": data.get("failure_link"),
            "transactions": [],
        }  # fmt: skip
        with self.lock:
            self._orders[order_id] = {"order": order, "slug": request.params["slug"], "token": token}
        return json_response({"order": order}, 201)

    def _show(self, request: Request) -> Response:
        with self.lock:
            held = self._orders.get(request.params["id"])
            if held is None or held["slug"] != request.params["slug"] or held["token"] != request.bearer():
                return _error(404, "Order not found.")
            return json_response({"order": held["order"]})

    def _page(self, request: Request) -> Response:
        with self.lock:
            held = self._orders.get(request.params["id"])
            if held is None:
                return _error(404, "Order not found.")
            order = dict(held["order"])
        rest = max(Decimal(order["value"]) - Decimal(order["received_total"]), Decimal(0))
        payable = order["status"] in ("OPEN", "PARTIALLY_FULFILLED")
        path = f"/crypto-orders/{order['id']}"
        facts = {"Order": order["order_number"], "Amount": f"{order['value']} {order['currency']}",
                 "Received": f"{order['received_total']} {order['currency']}", "Status": order["status"]}  # fmt: skip
        return crypto_page(
            "Whitepay (stand-in)", facts, plain(rest), (f"{path}/pay", f"{path}/expire") if payable else None
        )

    def _pay(self, request: Request) -> Response:
        amount = decimal(request.form().get("amount"))
        if amount is None or amount <= 0:
            return _error(422, "Send a positive amount.")
        with self.lock:
            held = self._orders.get(request.params["id"])
            if held is None or held["order"]["status"] not in ("OPEN", "PARTIALLY_FULFILLED"):
                return _error(409, "This order takes no more payments.")
            order = held["order"]
            transaction = {
                "id": str(uuid.uuid4()), "order_id": order["id"], "external_order_id": order["external_order_id"],
                "stock_orders": [], "currency": order["currency"], "value": plain(amount), "is_internal": False,
                "type": "DEPOSIT", "status": "COMPLETE", "hash": uuid.uuid4().hex, "created_at": _now(),
                "completed_at": _now(),
            }  # fmt: skip
            order["transactions"].append(transaction)
            order["received_total"] = plain(Decimal(order["received_total"]) + amount)
            complete = Decimal(order["received_total"]) >= Decimal(order["value"])
            order["status"] = "COMPLETE" if complete else "PARTIALLY_FULFILLED"
            order["completed_at"] = _now() if complete else None
            events = [{"transaction": transaction, "event_type": "transaction::completed"}]
            events.append(order_event(order, "order::completed" if complete else "order::partially_fulfilled"))
            slug, target = held["slug"], order["successful_link"]
        for event in events:
            self._send(slug, event)
        return redirect(target) if target else json_response({"order": order})

    def _expire(self, request: Request) -> Response:
        with self.lock:
            held = self._orders.get(request.params["id"])
            if held is None or held["order"]["status"] not in ("OPEN", "PARTIALLY_FULFILLED"):
                return _error(409, "This order cannot expire now.")
            order = held["order"]
            order["status"] = "DECLINED"
            event, slug, target = order_event(order, "order::declined"), held["slug"], order["failure_link"]
        self._send(slug, event)
        return redirect(target) if target else json_response({"order": order})

    def _rollback(self, request: Request) -> Response:
        """Stand-in only: the merchant rolls an overpayment's excess back (see the module)."""
        body = request.json()
        to = str(body.get("to") or "client")
        if to not in ("client", "merchant"):
            return _error(422, "to is client or merchant.")
        with self.lock:
            held = self._orders.get(str(body.get("order")))
            if held is None:
                return _error(404, "Order not found.")
            order = held["order"]
            rolled = sum((Decimal(t["value"]) for t in order["transactions"] if t["type"].startswith("ROLLBACK")),
                         Decimal(0))  # fmt: skip
            excess = Decimal(order["received_total"]) - Decimal(order["value"]) - rolled
            amount = decimal(body.get("amount")) if body.get("amount") is not None else excess
            if amount is None or amount <= 0 or amount > excess:
                return _error(422, f"Only an overpayment's excess ({plain(max(excess, Decimal(0)))}) rolls back.")
            transaction = {
                "id": str(uuid.uuid4()), "order_id": order["id"], "external_order_id": order["external_order_id"],
                "stock_orders": [], "currency": order["currency"], "value": plain(amount), "is_internal": False,
                "type": f"ROLLBACK_TO_{to.upper()}", "status": "COMPLETE", "hash": uuid.uuid4().hex,
                "created_at": _now(), "completed_at": _now(),
            }  # fmt: skip
            order["transactions"].append(transaction)
            slug = held["slug"]
        self._send(slug, {"transaction": transaction, "event_type": f"rollback::to_{to}"})
        return json_response({"transaction": transaction})

    def _send(self, slug: str, event: dict[str, Any]) -> None:
        secret = self.secret_for(slug)
        if secret is None:
            return
        wire, headers = signed(event, secret)
        self.deliver(slug, event["event_type"], wire, headers)


def order_event(order: dict[str, Any], event_type: str) -> dict[str, Any]:
    """A webhook about ``order`` (as the order API shows it, without its transactions)."""
    return {"order": {k: v for k, v in order.items() if k != "transactions"}, "event_type": event_type}


def signed(event: dict[str, Any], secret: str) -> tuple[bytes, dict[str, str]]:
    """The body on the wire and the headers of a webhook of ``event`` signed with ``secret``
    (see the module: signed as PHP serializes it, sent as compact JSON)."""
    wire = json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode()
    php = json.dumps(event, separators=(",", ":"), ensure_ascii=True).replace("/", "\\/").encode()
    return wire, {"Signature": hmac_hex(secret, php)}


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _error(status: int, message: str) -> Response:
    return json_response({"message": message}, status)
