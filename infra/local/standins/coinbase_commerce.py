"""Coinbase Commerce's stand-in: charges, their hosted page, and signed webhooks.

Serves ``POST /charges`` and ``GET /charges/{id or code}`` (``X-CC-Api-Key``; a charge is read
with the key that created it) and the charge's page at ``/pay/{code}`` (its ``hosted_url``).
Sending an amount adds a confirmed payment worth it in the charge's local currency: once the
payments reach the price the timeline goes PENDING then COMPLETED (``charge:pending``, then
``charge:confirmed``); less leaves the charge PENDING (``charge:pending``) and the page open
for the rest. "expire" ends an unfinished charge EXPIRED (``charge:failed``: an underpaid
charge fails at expiry, with its payments). Then it redirects to ``redirect_url`` (or
``cancel_url``).

Signing: ``X-CC-Webhook-Signature`` is the hex HMAC-SHA256 of the raw body, with the shared
secret registered for the API key, as Coinbase signs; the body is ``{"id", "scheduled_for",
"attempt_number", "event": {"id", "resource", "type", "api_version", "created_at", "data"}}``.

Limits: a charge does not expire by itself (use "expire"); no blockchain, networks,
confirmations, exchange rates (the crypto value equals the local one, "USDC"), unresolved /
resolved states, ``charge:delayed`` or cancellation; any non-empty API key is accepted.
"""

from __future__ import annotations

import json
import secrets
import uuid
from datetime import UTC, datetime, timedelta
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

LIFETIME = timedelta(hours=1)  # as Coinbase's charges
API_VERSION = "2018-03-22"


class CoinbaseCommerceStandIn(StandIn):
    name = "coinbase_commerce"

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._charges: dict[str, dict[str, Any]] = {}  # code -> {"charge", "key"}
        super().__init__(host, port)

    def routes(self) -> list[tuple[str, str, Handler]]:
        return [
            ("POST", r"/charges", self._create),
            ("GET", r"/charges/(?P<id>[^/]+)", self._show),
            ("GET", r"/pay/(?P<code>[A-Z0-9]+)", self._page),
            ("POST", r"/pay/(?P<code>[A-Z0-9]+)/pay", self._pay),
            ("POST", r"/pay/(?P<code>[A-Z0-9]+)/expire", self._expire),
        ]

    def _create(self, request: Request) -> Response:
        key, data = request.headers.get("X-CC-Api-Key"), request.json()
        if not key:
            return _error(401, "authentication_error", "No API key provided")
        if not isinstance(data, dict) or data.get("pricing_type") != "fixed_price":
            return _error(400, "invalid_request", "pricing_type must be fixed_price (the only one served here)")
        given = data.get("local_price")
        local: dict[str, Any] = given if isinstance(given, dict) else {}
        amount = decimal(local.get("amount"))
        if amount is None or amount <= 0 or not isinstance(local.get("currency"), str):
            return _error(400, "invalid_request", "local_price needs a positive amount and a currency")
        code, now = "".join(secrets.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(8)), datetime.now(UTC)
        charge = {
            "id": str(uuid.uuid4()), "resource": "charge", "code": code, "name": data.get("name"),
            "description": data.get("description"), "hosted_url": f"{self.base_url}/pay/{code}",
            "created_at": _iso(now), "expires_at": _iso(now + LIFETIME), "pricing_type": "fixed_price",
            "pricing": {"local": {"amount": plain(amount), "currency": local["currency"]},
                        "settlement": {"amount": plain(amount), "currency": "USDC"}},
            "metadata": data.get("metadata") or {}, "payments": [], "timeline": [{"time": _iso(now), "status": "NEW"}],
            "redirects": {"success_url": data.get("redirect_url"), "cancel_url": data.get("cancel_url"),
                          "will_redirect_after_success": bool(data.get("redirect_url"))},
        }  # fmt: skip
        with self.lock:
            self._charges[code] = {"charge": charge, "key": key}
        return json_response({"data": charge, "warnings": []}, 201)

    def _show(self, request: Request) -> Response:
        with self.lock:
            held = self._find(request.params["id"])
            if held is None or held["key"] != request.headers.get("X-CC-Api-Key"):
                return _error(404, "not_found", "Not found")
            return json_response({"data": held["charge"], "warnings": []})

    def _page(self, request: Request) -> Response:
        with self.lock:
            held = self._charges.get(request.params["code"])
            if held is None:
                return _error(404, "not_found", "Not found")
            charge = json.loads(json.dumps(held["charge"]))
        price, received = Decimal(charge["pricing"]["local"]["amount"]), _received(charge)
        currency, status = charge["pricing"]["local"]["currency"], charge["timeline"][-1]["status"]
        path = f"/pay/{charge['code']}"
        facts = {"Charge": charge["code"], "Pay for": charge["name"] or "", "Price": f"{plain(price)} {currency}",
                 "Received": f"{plain(received)} {currency}", "Status": status}  # fmt: skip
        payable = status in ("NEW", "SIGNED", "PENDING") and received < price
        actions = (f"{path}/pay", f"{path}/expire") if payable else None
        return crypto_page("Coinbase Commerce (stand-in)", facts, plain(max(price - received, Decimal(0))), actions)

    def _pay(self, request: Request) -> Response:
        amount = decimal(request.form().get("amount"))
        if amount is None or amount <= 0:
            return _error(400, "invalid_request", "Send a positive amount")
        with self.lock:
            held = self._charges.get(request.params["code"])
            if held is None or held["charge"]["timeline"][-1]["status"] not in ("NEW", "SIGNED", "PENDING"):
                return _error(409, "invalid_request", "This charge takes no more payments")
            charge, now = held["charge"], _iso(datetime.now(UTC))
            currency = charge["pricing"]["local"]["currency"]
            charge["payments"].append({
                "network": "base", "transaction_id": "0x" + secrets.token_hex(32), "status": "CONFIRMED",
                "detected_at": now, "payment_id": "0x" + secrets.token_hex(32),
                "value": {"local": {"amount": plain(amount), "currency": currency},
                          "crypto": {"amount": plain(amount), "currency": "USDC"}},
            })  # fmt: skip
            kinds = []
            if charge["timeline"][-1]["status"] != "PENDING":
                charge["timeline"].append({"time": now, "status": "PENDING"})
                kinds.append("charge:pending")
            if _received(charge) >= Decimal(charge["pricing"]["local"]["amount"]):
                charge["timeline"].append({"time": now, "status": "COMPLETED"})
                kinds.append("charge:confirmed")
            events = [(kind, json.loads(json.dumps(charge))) for kind in kinds]
            key, target = held["key"], charge["redirects"]["success_url"]
        for kind, data in events:
            self._send(key, kind, data)
        return redirect(target) if target else json_response({"data": charge})

    def _expire(self, request: Request) -> Response:
        with self.lock:
            held = self._charges.get(request.params["code"])
            if held is None or held["charge"]["timeline"][-1]["status"] not in ("NEW", "SIGNED", "PENDING"):
                return _error(409, "invalid_request", "This charge cannot expire now")
            charge = held["charge"]
            charge["timeline"].append({"time": _iso(datetime.now(UTC)), "status": "EXPIRED"})
            data, key, target = json.loads(json.dumps(charge)), held["key"], charge["redirects"]["cancel_url"]
        self._send(key, "charge:failed", data)
        return redirect(target) if target else json_response({"data": charge})

    def _find(self, reference: str) -> dict[str, Any] | None:
        """A charge by code or by id, as ``GET /charges/{id}`` takes either."""
        if reference in self._charges:
            return self._charges[reference]
        return next((held for held in self._charges.values() if held["charge"]["id"] == reference), None)

    def _send(self, key: str, kind: str, charge: dict[str, Any]) -> None:
        secret = self.secret_for(key)
        if secret is None:
            return
        now = _iso(datetime.now(UTC))
        body = json.dumps({
            "id": str(uuid.uuid4()), "scheduled_for": now, "attempt_number": 1,
            "event": {"id": str(uuid.uuid4()), "resource": "event", "type": kind, "api_version": API_VERSION,
                      "created_at": now, "data": charge},
        }).encode()  # fmt: skip
        self.deliver(key, kind, body, {"X-CC-Webhook-Signature": hmac_hex(secret, body)})


def _received(charge: dict[str, Any]) -> Decimal:
    return sum((Decimal(p["value"]["local"]["amount"]) for p in charge["payments"]), Decimal(0))


def _iso(moment: datetime) -> str:
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _error(status: int, kind: str, message: str) -> Response:
    return json_response({"error": {"type": kind, "message": message}}, status)
