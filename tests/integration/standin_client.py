"""What the stand-in tests use: a webhook receiver, and a browser of plain forms (urllib)."""

from __future__ import annotations

import queue
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlencode, urljoin


@dataclass(frozen=True)
class Delivery:
    headers: dict[str, str]
    body: bytes


class Receiver:
    """A merchant's webhook endpoint on 127.0.0.1: keeps each delivery, answers ``status``
    (200 unless told otherwise: a receiver that is down answers 500)."""

    def __init__(self, status: int = 200) -> None:
        self.deliveries: queue.Queue[Delivery] = queue.Queue()
        self.status = status
        received, owner = self.deliveries, self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                received.put(Delivery(dict(self.headers.items()), body))
                self.send_response(owner.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/webhooks"

    def take(self, count: int) -> list[Delivery]:
        """The next ``count`` deliveries (the stand-in sends them before it redirects)."""
        return [self.deliveries.get(timeout=30) for _ in range(count)]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@dataclass(frozen=True)
class Form:
    action: str
    method: str
    fields: dict[str, str]


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: dict[str, Form] = {}
        self._current: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {name: value or "" for name, value in attrs}
        if tag == "form":
            self._current = found.get("data-action", "")
            self.forms[self._current] = Form(found.get("action", ""), found.get("method", "get").lower(), {})
        elif tag == "input" and found.get("type") == "checkbox" and "checked" not in found:
            return  # as a browser: an unchecked box is not sent
        elif tag == "input" and self._current is not None and "name" in found:
            self.forms[self._current].fields[found["name"]] = found.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def open_page(url: str) -> tuple[str, dict[str, Form]]:
    """The hosted page's HTML and its forms by ``data-action``."""
    with urllib.request.urlopen(url, timeout=30) as response:
        assert "script-src" not in (response.headers.get("Content-Security-Policy") or "")
        html = response.read().decode()
    parser = _Forms()
    parser.feed(html)
    return html, parser.forms


def submit(page_url: str, form: Form, **values: str) -> tuple[int, str]:
    """Submit ``form`` as a browser would; the status and the ``Location`` it answers."""
    assert form.method == "post"
    data = urlencode({**form.fields, **values}).encode()
    request = urllib.request.Request(urljoin(page_url, form.action), data=data, method="POST")
    try:
        with _opener.open(request, timeout=60) as response:
            return response.status, response.headers.get("Location", "")
    except urllib.error.HTTPError as answered:
        return answered.code, answered.headers.get("Location", "")


def receiver() -> Iterator[Receiver]:
    endpoint = Receiver()
    yield endpoint
    endpoint.close()
