"""The base of the payment providers' stand-ins: a tiny threaded HTTP server on 127.0.0.1.

A stand-in serves the few API endpoints our provider modules call, a hosted page made of plain
HTML forms (no JavaScript, everything escaped), and sends webhooks signed as the real provider
signs them. Where a real provider has a dashboard to register a webhook endpoint, a stand-in
has ``POST /_standin/webhooks {"key", "url", "secret"}``: ``key`` is the credential the
provider's objects belong to (an API key, a store slug), and each object's events go to the
URL registered for its key, signed with that secret. Only the local stack and the tests call
it; production never does.

State lives in memory, per process, and is lost on stop: these are test doubles, not
emulators with persistence.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import re
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

PAGE_POLICY = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self' http: https:; base-uri 'none'"
"""The hosted pages' Content-Security-Policy: no script at all, forms post to the stand-in."""

WEBHOOK_TIMEOUT = 10.0  # seconds to deliver one webhook


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: Mapping[str, str]
    body: bytes
    params: dict[str, str]  # the route's named groups

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            return None

    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode(errors="replace"), keep_blank_values=True))

    def bearer(self) -> str | None:
        """The token of ``Authorization: Bearer <token>``, if any."""
        value = self.headers.get("Authorization") or ""
        scheme, _, token = value.partition(" ")
        return token.strip() or None if scheme.lower() == "bearer" else None


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def json_response(data: Any, status: int = 200) -> Response:
    return Response(status, json.dumps(data).encode(), {"Content-Type": "application/json"})


def redirect(url: str) -> Response:
    return Response(303, b"", {"Location": url})


def page(title: str, body: str) -> Response:
    """A hosted page: ``body`` is HTML whose every value the caller escaped with ``esc``."""
    document = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title></head><body><main><h1>{esc(title)}</h1>{body}</main></body></html>"
    )
    headers = {"Content-Type": "text/html; charset=utf-8", "Content-Security-Policy": PAGE_POLICY}
    return Response(200, document.encode(), headers)


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


Handler = Callable[[Request], Response]


@dataclass(frozen=True)
class Webhook:
    url: str
    secret: str


class StandIn:
    """A stand-in server. Subclasses list their ``routes()`` as (method, path pattern with
    ``(?P<name>...)`` groups, handler); the server answers 404 to anything else."""

    name = "stand-in"

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.lock = threading.RLock()  # the handlers run on the server's threads
        self._webhooks: dict[str, Webhook] = {}
        self.deliveries: list[tuple[str, int]] = []  # (event type, HTTP status; 0: not delivered)
        self._routes = [
            (method, re.compile(pattern + r"\Z"), handler)
            for method, pattern, handler in [("POST", "/_standin/webhooks", self._register), *self.routes()]
        ]
        self._server = ThreadingHTTPServer((host, port), _handler_for(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    def routes(self) -> list[tuple[str, str, Handler]]:
        return []

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self._thread = threading.Thread(target=self._server.serve_forever, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def dispatch(self, request: Request) -> Response:
        for method, pattern, handler in self._routes:
            matched = pattern.match(request.path)
            if matched and method == request.method:
                return handler(Request(**{**request.__dict__, "params": matched.groupdict()}))
        return json_response({"error": {"message": f"No such route: {request.method} {request.path}"}}, 404)

    def deliver(self, key: str, event_type: str, body: bytes, headers: Mapping[str, str]) -> int:
        """POST a signed webhook ``body`` to the URL registered for ``key``; the receiver's
        status (0: none registered, or it could not be reached). Like a provider, a stand-in
        does not fail the payment when the merchant's endpoint fails."""
        with self.lock:
            target = self._webhooks.get(key)
        status = 0
        if target is not None:
            sent = {"Content-Type": "application/json", "User-Agent": f"{self.name}-standin", **headers}
            request = urllib.request.Request(target.url, data=body, headers=sent, method="POST")  # noqa: S310
            try:
                with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT) as answer:  # noqa: S310
                    status = answer.status
            except urllib.error.HTTPError as refused:
                status = refused.code
            except (urllib.error.URLError, OSError) as unreachable:
                sys.stderr.write(f"{self.name} stand-in: webhook to {target.url} failed: {unreachable}\n")
        with self.lock:
            self.deliveries.append((event_type, status))
        return status

    def secret_for(self, key: str) -> str | None:
        with self.lock:
            target = self._webhooks.get(key)
        return target.secret if target else None

    def _register(self, request: Request) -> Response:
        data = request.json()
        if not isinstance(data, dict) or not all(
            isinstance(data.get(k), str) and data[k] for k in ("key", "url", "secret")
        ):
            return json_response({"error": {"message": "give key, url and secret as non-empty strings"}}, 400)
        if urlsplit(data["url"]).scheme not in ("http", "https"):
            return json_response({"error": {"message": "url must be http(s)"}}, 400)
        with self.lock:
            self._webhooks[data["key"]] = Webhook(data["url"], data["secret"])
        return json_response({"key": data["key"], "url": data["url"]})


def register_webhook(base_url: str, key: str, url: str, secret: str) -> None:
    """Register a webhook endpoint with the stand-in at ``base_url``, over HTTP as the local
    stack and the tests do (the real providers' dashboards have no API for us to call)."""
    body = json.dumps({"key": key, "url": url, "secret": secret}).encode()
    request = urllib.request.Request(  # noqa: S310 (a stand-in on 127.0.0.1)
        f"{base_url}/_standin/webhooks", data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT):  # noqa: S310
        pass


def _handler_for(stand_in: StandIn) -> type[BaseHTTPRequestHandler]:
    class RequestHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def do_DELETE(self) -> None:
            self._serve()

        def _serve(self) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            request = Request(
                method=self.command,
                path=url.path,
                query=dict(parse_qsl(url.query, keep_blank_values=True)),
                headers=_Headers(self.headers.items()),
                body=self.rfile.read(length) if length else b"",
                params={},
            )
            try:
                response = stand_in.dispatch(request)
            except Exception as failed:  # a stand-in's bug answers 500, and the server goes on
                sys.stderr.write(f"{stand_in.name} stand-in: {request.method} {request.path} failed: {failed!r}\n")
                response = json_response({"error": {"message": f"stand-in error: {failed!r}"}}, 500)
            self.send_response(response.status)
            for name, value in {**response.headers, "Content-Length": str(len(response.body))}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(response.body)

        def log_message(self, message: str, *args: Any) -> None:  # quiet, as the API's server is
            pass

    return RequestHandler


class _Headers(dict[str, str]):
    """Request headers, looked up whatever their case."""

    def __init__(self, items: Any) -> None:
        super().__init__((name.lower(), value) for name, value in items)

    def get(self, key: str, default: Any = None) -> Any:
        return super().get(key.lower(), default)

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(key.lower())


def crypto_page(title: str, facts: Mapping[str, object], rest: str, actions: tuple[str, str] | None) -> Response:
    """A crypto provider's hosted page: what is asked and what arrived, and, while payable,
    an amount field (the rest, by default: change it to under- or overpay) with
    ``data-action="pay"`` and ``data-action="expire"`` forms posting to ``actions``."""
    rows = "".join(f"<dt>{esc(name)}</dt><dd>{esc(value)}</dd>" for name, value in facts.items())
    forms = ""
    if actions is not None:
        pay, expire = actions
        forms = (
            f'<form method="post" action="{esc(pay)}" data-action="pay">'
            f'<label>Amount to send <input name="amount" inputmode="decimal" value="{esc(rest)}" required></label>'
            '<button type="submit">Send payment</button></form>'
            f'<form method="post" action="{esc(expire)}" data-action="expire">'
            '<button type="submit">Let it expire</button></form>'
        )
    return page(title, f"<dl>{rows}</dl>{forms}")


def hmac_hex(secret: str, message: bytes) -> str:
    """Hex HMAC-SHA256: how all three providers sign (over different messages)."""
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def decimal(value: object) -> Decimal | None:
    """A form's or a body's decimal amount; None when it is not a finite number."""
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return amount if amount.is_finite() else None


def plain(value: Decimal) -> str:
    """A decimal string without exponent or trailing zeros, as providers write amounts."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text
