"""Stripe's stand-in: Checkout Sessions and their hosted page, over localstripe.

localstripe (PyPI ``localstripe``, run in-process on its own asyncio thread, started on first
use) serves customers, payment methods, payment intents, charges and refunds; it has no
Checkout Sessions, which this stand-in adds: ``POST /v1/checkout/sessions`` (``mode=payment``
with ``price_data`` lines, ``metadata``, ``client_reference_id``, ``customer`` or
``customer_email``, ``customer_creation``, ``payment_intent_data[metadata]`` and
``[setup_future_usage]``, ``expires_at`` within Stripe's 30 minutes to 24 hours,
``success_url``, ``cancel_url``, ``Idempotency-Key``), ``GET /v1/checkout/sessions/{id}`` and
``POST /v1/checkout/sessions/{id}/expire``. Every other ``/v1/...`` request is passed to
localstripe as it came, so one base URL (``STRIPE_API_BASE``) serves both, as api.stripe.com
does. Objects belong to the API key that created them (another key gets a 404).

The hosted page (the session's ``url``, ``/pay/{id}``) has two forms. ``data-action="pay"``
pays with the test card 4242 4242 4242 4242: a PaymentMethod and a confirmed PaymentIntent in
localstripe (with ``save_card``, the card is first attached to the session's customer, created
if needed, since localstripe takes no ``setup_future_usage``), the session turns
``complete``/``paid``, ``checkout.session.completed`` is sent, and the browser goes to
``success_url`` (``{CHECKOUT_SESSION_ID}`` replaced, as Stripe does). ``data-action="decline"``
tries the card 4000 0000 0000 0341, which localstripe declines: ``payment_intent.payment_failed``
is sent, the session stays open (as on Stripe, the customer may try again), and the browser
goes to ``cancel_url``. A refund made through ``POST /v1/refunds`` also sends
``charge.refunded``.

Signing: ``Stripe-Signature: t=<now>,v1=<hex HMAC-SHA256 of "<t>.<body>">`` with the secret
registered for the API key, body pretty-printed JSON as Stripe sends it.

Saved cards: ``POST /v1/payment_intents`` with ``off_session=true`` (a saved card charged when
an invoice is finalized) is served here, over localstripe: the intent is created and confirmed
for the customer's payment method (``description`` is dropped: localstripe has none), the
caller's ``Idempotency-Key`` answers a repeated request with the first answer (localstripe
keeps no keys), and ``payment_intent.succeeded`` is sent; a decline answers Stripe's 402
``card_error`` with ``decline_code`` and the failed ``payment_intent``, and sends
``payment_intent.payment_failed``. Saved cards are the test card 4242, which never declines, so
the stand-in-only ``POST /_standin/stripe/declining {"key", "customer"}`` makes every later
off-session charge of that Stripe customer decline (``insufficient_funds``, charged to the
declining test card 4000 0000 0000 0341 instead: the failed intent names that card).

Disputes: localstripe has none, so the stand-in keeps them (one per charge, like Stripe): the
stand-in-only ``POST /_standin/stripe/disputes {"key", "payment_intent", "status", "amount"}``
opens a dispute on the intent's latest charge (``charge.dispute.created``) or moves it to
``won``/``lost`` (``charge.dispute.closed``); ``GET /v1/disputes`` lists them and
``GET /v1/charges/{id}`` sets the charge's ``disputed`` flag, as our Stripe module reads them.

Limits: no Prices or Products (``price_data`` only), no ``mode=setup``/``subscription``, no
automatic expiry at ``expires_at`` (``/expire`` does it), no async payment methods
(``checkout.session.async_payment_*``); localstripe's own webhooks (payment
intents it changes when called directly) are not forwarded, since it cannot tell which key
an object belongs to; localstripe refuses parameters it does not know (``setup_future_usage``, ``description`` ...).
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import threading
import time
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import parse_qsl, urlencode

from billing.payments.providers.base import from_minor
from infra.local.standins.server import (
    Handler,
    Request,
    Response,
    StandIn,
    esc,
    hmac_hex,
    json_response,
    page,
    redirect,
)

API_VERSION = "2026-10-28.endive"  # what stripe==16.1.0 speaks
PAY_CARD, DECLINED_CARD = "4242424242424242", "4000000000000341"  # localstripe declines the second on charge
MIN_LIFETIME, MAX_LIFETIME = 30 * 60, 24 * 3600  # seconds from creation Stripe allows for expires_at
SLACK = 60  # seconds of clock difference forgiven


class StripeStandIn(StandIn):
    name = "stripe"

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._sessions: dict[str, dict[str, Any]] = {}  # id -> {"session", "key", "intent"}
        self._idempotent: dict[tuple[str, str], str] = {}  # (key, Idempotency-Key) -> session id
        self._charges: dict[tuple[str, str], Response] = {}  # (key, Idempotency-Key) -> off-session answer
        self._declining: set[tuple[str, str]] = set()  # (key, Stripe customer) whose saved cards decline
        self._disputes: dict[str, dict[str, Any]] = {}  # charge id -> {"dispute", "key"} (one per charge)
        super().__init__(host, port)

    def routes(self) -> list[tuple[str, str, Handler]]:
        return [
            ("POST", r"/v1/checkout/sessions", self._create),
            ("GET", r"/v1/checkout/sessions/(?P<id>cs_\w+)", self._retrieve),
            ("POST", r"/v1/checkout/sessions/(?P<id>cs_\w+)/expire", self._expire),
            ("GET", r"/pay/(?P<id>cs_\w+)", self._page),
            ("POST", r"/pay/(?P<id>cs_\w+)/pay", self._pay),
            ("POST", r"/pay/(?P<id>cs_\w+)/decline", self._decline),
            ("POST", r"/_standin/stripe/declining", self._decline_later),
            ("POST", r"/v1/payment_intents", self._create_intent),
            ("POST", r"/_standin/stripe/disputes", self._dispute),
            ("GET", r"/v1/disputes", self._list_disputes),
            ("GET", r"/v1/charges/(?P<id>ch_\w+)", self._retrieve_charge),
            ("GET", r"/v1/.*", self._proxy),
            ("POST", r"/v1/.*", self._proxy),
            ("DELETE", r"/v1/.*", self._proxy),
        ]

    def _create(self, request: Request) -> Response:
        key = request.bearer()
        if not key:
            return _error(401, "You did not provide an API key.")
        with self.lock:
            known = self._idempotent.get((key, request.headers.get("Idempotency-Key") or ""))
            if known:
                return json_response(self._sessions[known]["session"])
        data = unflatten(parse_qsl(request.body.decode(), keep_blank_values=True))
        problem = _invalid(data)
        if problem:
            return _error(400, problem)
        lines = data["line_items"]
        session_id = "cs_test_" + secrets.token_hex(24)
        total = sum(int(line["price_data"]["unit_amount"]) * int(line.get("quantity", 1)) for line in lines)
        intent = data.get("payment_intent_data") or {}
        session = {
            "id": session_id, "object": "checkout.session", "amount_subtotal": total, "amount_total": total,
            "cancel_url": data.get("cancel_url"), "client_reference_id": data.get("client_reference_id"),
            "created": int(time.time()), "currency": lines[0]["price_data"]["currency"].lower(),
            "customer": data.get("customer"), "customer_creation": data.get("customer_creation"),
            "customer_details": None, "customer_email": data.get("customer_email"),
            "expires_at": int(data.get("expires_at") or time.time() + MAX_LIFETIME), "livemode": False,
            "metadata": data.get("metadata") or {}, "mode": "payment", "payment_intent": None,
            "payment_method_types": ["card"], "payment_status": "unpaid", "status": "open",
            "success_url": data.get("success_url"), "url": f"{self.base_url}/pay/{session_id}",
        }  # fmt: skip
        with self.lock:
            names = [str((line["price_data"].get("product_data") or {}).get("name") or "") for line in lines]
            self._sessions[session_id] = {"session": session, "key": key, "intent": intent, "names": names}
            if request.headers.get("Idempotency-Key"):
                self._idempotent[(key, request.headers["Idempotency-Key"])] = session_id
        return json_response(session)

    def _retrieve(self, request: Request) -> Response:
        with self.lock:
            held = self._sessions.get(request.params["id"])
            if held is None or held["key"] != request.bearer():
                return _missing(request.params["id"])
            return json_response(held["session"])

    def _expire(self, request: Request) -> Response:
        with self.lock:
            held = self._sessions.get(request.params["id"])
            if held is None or held["key"] != request.bearer():
                return _missing(request.params["id"])
            session = held["session"]
            if session["status"] != "open":
                return _error(
                    400, f"Only Checkout Sessions with a status of `open` can be expired ({session['status']})."
                )
            session["status"] = "expired"
            snapshot = json.loads(json.dumps(session))
        self._send(held["key"], "checkout.session.expired", snapshot)
        return json_response(snapshot)

    def _page(self, request: Request) -> Response:
        with self.lock:
            held = self._sessions.get(request.params["id"])
            if held is None:
                return page("Checkout (Stripe stand-in)", "<p>No such checkout.</p>")
            session, names = dict(held["session"]), held["names"]
        currency = session["currency"].upper()
        facts = (
            "".join(f"<p>{esc(name)}</p>" for name in names)
            + f"<p>Amount: <strong>{esc(from_minor(session['amount_total'], currency))} "
            f"{esc(currency)}</strong></p><p>Status: {esc(session['status'])}/{esc(session['payment_status'])}</p>"
        )
        forms = ""
        if session["status"] == "open":
            path = f"/pay/{session['id']}"
            forms = (
                f'<form method="post" action="{esc(path)}/pay" data-action="pay">'
                '<p>Card 4242 4242 4242 4242 (test)</p><button type="submit">Pay</button></form>'
                f'<form method="post" action="{esc(path)}/decline" data-action="decline">'
                '<p>Card 4000 0000 0000 0341 (declined)</p><button type="submit">Pay with a declined card</button>'
                "</form>"
            )
        return page("Checkout (Stripe stand-in)", facts + forms)

    def _pay(self, request: Request) -> Response:
        with self.lock:
            held = self._sessions.get(request.params["id"])
            if held is None or held["session"]["status"] != "open":
                return _error(409, "This Checkout Session is no longer open.")
            session, key, intent = held["session"], held["key"], held["intent"]
            method = self._localstripe(key, "POST", "/v1/payment_methods", _card(PAY_CARD))
            if intent.get("setup_future_usage"):
                if not session["customer"]:
                    email = {"email": session["customer_email"]} if session["customer_email"] else {}
                    session["customer"] = self._localstripe(key, "POST", "/v1/customers", email)["id"]
                self._localstripe(
                    key, "POST", f"/v1/payment_methods/{method['id']}/attach", {"customer": session["customer"]}
                )
            paid = self._localstripe(key, "POST", "/v1/payment_intents", self._intent(session, intent, method["id"]))
            session.update(status="complete", payment_status="paid", payment_intent=paid["id"],
                           customer_details={"email": session["customer_email"]})  # fmt: skip
            snapshot = json.loads(json.dumps(session))
        self._send(key, "checkout.session.completed", snapshot)
        return redirect(str(session["success_url"]).replace("{CHECKOUT_SESSION_ID}", session["id"]))

    def _decline(self, request: Request) -> Response:
        with self.lock:
            held = self._sessions.get(request.params["id"])
            if held is None or held["session"]["status"] != "open":
                return _error(409, "This Checkout Session is no longer open.")
            session, key, intent = held["session"], held["key"], held["intent"]
            method = self._localstripe(key, "POST", "/v1/payment_methods", _card(DECLINED_CARD))
            params = {**self._intent(session, intent, method["id"]), "confirm": "false"}
            attempt = self._localstripe(key, "POST", "/v1/payment_intents", params)
            self._localstripe(key, "POST", f"/v1/payment_intents/{attempt['id']}/confirm", {}, declined_ok=True)
            failed = self._localstripe(key, "GET", f"/v1/payment_intents/{attempt['id']}", None)
        self._send(key, "payment_intent.payment_failed", failed)
        return redirect(str(session["cancel_url"] or session["success_url"]))

    def _decline_later(self, request: Request) -> Response:
        """Stand-in only: every later off-session charge of ``customer`` (owned by ``key``) declines."""
        body = request.json()
        with self.lock:
            self._declining.add((str(body["key"]), str(body["customer"])))
        return json_response({"declining": body["customer"]})

    def _dispute(self, request: Request) -> Response:
        """Stand-in only: the cardholder disputes the latest charge of ``payment_intent`` (owned
        by ``key``), or the dispute moves on: ``status`` (``needs_response`` by default; ``won``
        or ``lost`` closes it), ``amount`` (default the charge's). Sends
        ``charge.dispute.created`` for a new dispute and ``charge.dispute.closed`` once closed."""
        body = request.json()
        key, status = str(body["key"]), str(body.get("status") or "needs_response")
        intent = self._localstripe(key, "GET", f"/v1/payment_intents/{body['payment_intent']}", None)
        latest = intent.get("latest_charge")
        charge_id = str(latest.get("id") if isinstance(latest, dict) else latest)
        charge = self._localstripe(key, "GET", f"/v1/charges/{charge_id}", None)
        with self.lock:
            held = self._disputes.get(charge_id)
            kinds = [] if held else ["charge.dispute.created"]
            dispute = held["dispute"] if held else {
                "id": "dp_" + secrets.token_hex(12), "object": "dispute", "charge": charge_id,
                "payment_intent": intent["id"], "amount": int(body.get("amount") or charge["amount"]),
                "currency": charge["currency"], "created": int(time.time()), "livemode": False,
                "reason": "fraudulent", "metadata": {}, "is_charge_refundable": False,
            }  # fmt: skip
            dispute["status"] = status
            self._disputes[charge_id] = {"dispute": dispute, "key": key}
            kinds += ["charge.dispute.closed"] if status in ("won", "lost") else []
            snapshot = json.loads(json.dumps(dispute))
        for kind in kinds:
            self._send(key, kind, snapshot)
        return json_response(snapshot)

    def _list_disputes(self, request: Request) -> Response:
        """``GET /v1/disputes`` (filters ``charge``, ``payment_intent``): the key's disputes."""
        key = request.bearer()
        wanted = {name: request.query.get(name) for name in ("charge", "payment_intent") if request.query.get(name)}
        with self.lock:
            found = [held["dispute"] for held in self._disputes.values() if held["key"] == key
                     and all(held["dispute"][name] == value for name, value in wanted.items())]  # fmt: skip
            data = json.loads(json.dumps(found))
        return json_response({"object": "list", "url": "/v1/disputes", "has_more": False, "data": data})

    def _retrieve_charge(self, request: Request) -> Response:
        """localstripe's charge, with Stripe's ``disputed`` flag (localstripe has no disputes)."""
        answer = self._proxy(request)
        if answer.status != 200:
            return answer
        charge = json.loads(answer.body)
        with self.lock:
            held = self._disputes.get(charge.get("id"))
            charge["disputed"] = held is not None and held["key"] == request.bearer()
        return json_response(charge)

    def _create_intent(self, request: Request) -> Response:
        """A PaymentIntent: an off-session one is served here (see the module's docstring), any
        other goes to localstripe as it came."""
        data = dict(parse_qsl(request.body.decode(), keep_blank_values=True))
        key = request.bearer()
        if data.get("off_session") != "true" or not key:
            return self._proxy(request)
        remembered = (key, request.headers.get("idempotency-key") or secrets.token_hex(8))
        with self.lock:
            if remembered in self._charges:
                return self._charges[remembered]
            data.pop("description", None)
            if (key, data.get("customer", "")) in self._declining:
                data["payment_method"] = self._localstripe(key, "POST", "/v1/payment_methods", _card(DECLINED_CARD))[
                    "id"
                ]
            error = self._localstripe(key, "POST", "/v1/payment_intents", data, declined_ok=True)
            if "charge" in error or error.get("object") != "payment_intent":
                charge = self._localstripe(key, "GET", f"/v1/charges/{error['charge']}", None)
                intent = self._localstripe(key, "GET", f"/v1/payment_intents/{charge['payment_intent']}", None)
                failure = {"type": "card_error", "code": "card_declined", "decline_code": "insufficient_funds",
                           "message": "Your card has insufficient funds.", "payment_intent": intent}  # fmt: skip
                intent["last_payment_error"] = {k: v for k, v in failure.items() if k != "payment_intent"}
                answer, kind, sent = json_response({"error": failure}, 402), "payment_intent.payment_failed", intent
            else:
                answer, kind, sent = json_response(error), "payment_intent.succeeded", error
            self._charges[remembered] = answer
        self._send(key, kind, sent)
        return answer

    def _intent(self, session: dict[str, Any], intent: dict[str, Any], method: str) -> dict[str, Any]:
        metadata = {f"metadata[{key}]": value for key, value in (intent.get("metadata") or {}).items()}
        params = {"amount": session["amount_total"], "currency": session["currency"], "payment_method": method,
                  "confirm": "true", **metadata}  # fmt: skip
        return {**params, **({"customer": session["customer"]} if session["customer"] else {})}

    def _proxy(self, request: Request) -> Response:
        """Anything else of Stripe's API, to localstripe; a refund also sends ``charge.refunded``."""
        key = request.bearer()
        url = f"{localstripe_url()}{request.path}" + (f"?{urlencode(request.query)}" if request.query else "")
        headers = {name: request.headers[name.lower()] for name in ("Authorization", "Content-Type", "Idempotency-Key")
                   if request.headers.get(name)}  # fmt: skip
        forwarded = urllib.request.Request(url, data=request.body or None, headers=headers, method=request.method)  # noqa: S310
        try:
            with urllib.request.urlopen(forwarded, timeout=30) as answer:  # noqa: S310
                status, body = answer.status, answer.read()
        except urllib.error.HTTPError as refused:
            status, body = refused.code, refused.read()
        if key and request.method == "POST" and request.path == "/v1/refunds" and status == 200:
            charge = self._localstripe(key, "GET", f"/v1/charges/{json.loads(body)['charge']}", None)
            self._send(key, "charge.refunded", charge)
        return Response(status, body, {"Content-Type": "application/json"})

    def _localstripe(
        self, key: str, method: str, path: str, data: dict[str, Any] | None, declined_ok: bool = False
    ) -> dict[str, Any]:
        """A call to localstripe with the tenant's key; its JSON answer (with ``declined_ok``,
        a 402 card decline answers its error)."""
        body = urlencode(data).encode() if data else None
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/x-www-form-urlencoded"}
        call = urllib.request.Request(f"{localstripe_url()}{path}", data=body, headers=headers, method=method)  # noqa: S310
        try:
            with urllib.request.urlopen(call, timeout=30) as answer:  # noqa: S310
                result: dict[str, Any] = json.loads(answer.read())
        except urllib.error.HTTPError as refused:
            error: dict[str, Any] = json.loads(refused.read()).get("error") or {}
            if declined_ok and refused.code == 402:
                return error
            raise RuntimeError(f"localstripe refused {method} {path}: {error.get('message')}") from None
        return result

    def _send(self, key: str, kind: str, obj: dict[str, Any]) -> None:
        secret = self.secret_for(key)
        if secret is None:
            return
        body, headers = signed(kind, obj, secret)
        self.deliver(key, kind, body, headers)


def signed(kind: str, obj: dict[str, Any], secret: str) -> tuple[bytes, dict[str, str]]:
    """A new event of type ``kind`` about ``obj``, as Stripe sends it: the body (pretty-printed
    JSON) and its ``Stripe-Signature`` header, signed with ``secret`` now."""
    signed_at = int(time.time())
    event = {"id": "evt_" + secrets.token_hex(12), "object": "event", "api_version": API_VERSION,
             "created": signed_at, "data": {"object": obj}, "livemode": False, "pending_webhooks": 1,
             "request": {"id": None, "idempotency_key": None}, "type": kind}  # fmt: skip
    body = json.dumps(event, indent=2).encode()
    signature = hmac_hex(secret, f"{signed_at}.".encode() + body)
    return body, {"Stripe-Signature": f"t={signed_at},v1={signature}"}


def unflatten(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Stripe's form encoding (``line_items[0][price_data][currency]=usd``) as nested data:
    dicts whose keys are all indices become lists."""
    root: dict[str, Any] = {}
    for name, value in pairs:
        parts = re.findall(r"[^\[\]]+", name)
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        if parts:
            node[parts[-1]] = value
    return _lists(root)  # type: ignore[no-any-return]


def _lists(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    items = {key: _lists(value) for key, value in node.items()}
    if items and all(key.isdigit() for key in items):
        return [items[key] for key in sorted(items, key=int)]
    return items


def _invalid(data: dict[str, Any]) -> str | None:
    """Why Stripe would refuse this Checkout Session (the checks our calls can trip), or None."""
    if data.get("mode") != "payment":
        return "The stand-in serves mode=payment only."
    lines = data.get("line_items")
    if not isinstance(lines, list) or not lines:
        return "Missing required param: line_items."
    for line in lines:
        price = line.get("price_data") if isinstance(line, dict) else None
        if not isinstance(price, dict) or not str(price.get("unit_amount", "")).isdigit() or not price.get("currency"):
            return "Each line item needs price_data with currency and unit_amount (Prices are not served here)."
    if len({line["price_data"]["currency"].lower() for line in lines}) > 1:
        return "All line items must be in one currency."
    if not data.get("success_url"):
        return "Missing required param: success_url."
    if data.get("expires_at"):
        lifetime = int(data["expires_at"]) - time.time()
        if not MIN_LIFETIME - SLACK <= lifetime <= MAX_LIFETIME + SLACK:
            return "The `expires_at` timestamp must be between 30 minutes and 24 hours from Checkout Session creation."
    return None


def _card(number: str) -> dict[str, str]:
    return {
        "type": "card",
        "card[number]": number,
        "card[exp_month]": "12",
        "card[exp_year]": "2040",
        "card[cvc]": "123",
    }


def _error(status: int, message: str) -> Response:
    return json_response({"error": {"type": "invalid_request_error", "message": message}}, status)


def _missing(session_id: str) -> Response:
    return json_response(
        {"error": {"type": "invalid_request_error", "code": "resource_missing",
                   "message": f"No such checkout.session: '{session_id}'"}}, 404)  # fmt: skip


_localstripe_lock = threading.Lock()
_localstripe_base: list[str] = []


def localstripe_url() -> str:
    """localstripe's base URL, starting it on first use (once per process: its state is the
    module's own). Its store is not pickled to /tmp after each write, as its CLI does: several
    processes (test workers) would overwrite one another's file."""
    with _localstripe_lock:
        if not _localstripe_base:
            _localstripe_base.append(_start_localstripe())
        return _localstripe_base[0]


def _start_localstripe() -> str:
    from aiohttp import web
    from localstripe import server
    from localstripe.resources import store

    store.dump_to_disk = lambda: None
    loop, started = asyncio.new_event_loop(), threading.Event()
    address: list[str] = []

    async def serve() -> None:
        runner = web.AppRunner(server.app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        host, port = runner.addresses[0][:2]
        address.append(f"http://{host}:{port}")
        started.set()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(serve())
        loop.run_forever()

    threading.Thread(target=run, name="localstripe", daemon=True).start()
    if not started.wait(30):
        raise RuntimeError("localstripe did not start")
    return address[0]


def decline_off_session(base_url: str, key: str, customer: str) -> None:
    """Make every later off-session charge of the Stripe ``customer`` decline (stand-in only)."""
    body = json.dumps({"key": key, "customer": customer}).encode()
    call = urllib.request.Request(f"{base_url}/_standin/stripe/declining", data=body,  # noqa: S310
                                  headers={"Content-Type": "application/json"}, method="POST")  # fmt: skip
    with urllib.request.urlopen(call, timeout=30):  # noqa: S310
        pass
