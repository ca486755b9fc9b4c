"""The one HTTP POST of a delivery, with the standard library only, safe against SSRF.

``SafeTransport.post`` resolves the URL's host once, checks every address it resolves to
(``AddressPolicy``: one refused address refuses the delivery, so a name cannot mix a public
answer with a private one), and connects to the first of them: ``http.client``'s connection
is given a socket factory pinned to that address, so nothing resolves the name again (the
TLS handshake still sends the host name, and the certificate is checked against it). The peer
of the connected socket is compared with the checked address once more.

Bounded: ``Limits.connect_s`` to resolve the name and again to connect, ``Limits.total_s`` for
the whole exchange, connecting included (a timer shuts the socket down, so a receiver trickling
bytes cannot hold a delivery): at most 15 seconds an attempt by default; at most
``Limits.max_response_bytes`` of the answer read (what a receiver says is kept only as a
status; the body is read so the connection ends cleanly, then dropped). Redirects are never
followed: ``http.client`` does not, and a 3xx is a failed attempt.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from billing.webhooks_out.addresses import AddressPolicy, RefusedAddress

Resolver = Callable[[str, int], list[str]]
"""host, port -> the addresses to try, as ``getaddrinfo`` gives them."""
Connector = Callable[[tuple[str, int], float], socket.socket]
"""(address, port), connect timeout -> a connected socket (``socket.create_connection``)."""
TlsContext = Callable[[], ssl.SSLContext]


@dataclass(frozen=True)
class Limits:
    connect_s: float = 5.0
    total_s: float = 10.0
    max_response_bytes: int = 64 * 1024


@dataclass(frozen=True)
class Response:
    status: int
    address: str  # the address connected to
    body_bytes: int  # how much of the answer was read (at most the limit)
    truncated: bool  # the answer was longer than the limit; the rest was not read


class TransportError(Exception):
    """No HTTP status came back: refused before connecting, DNS, connect, TLS or time."""

    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.code = code


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def system_connector(address: tuple[str, int], timeout: float) -> socket.socket:
    return socket.create_connection(address, timeout=timeout)


class SafeTransport:
    def __init__(
        self,
        policy: AddressPolicy,
        limits: Limits | None = None,
        resolver: Resolver = system_resolver,
        connector: Connector = system_connector,
        tls: TlsContext | None = None,
    ):
        self._policy, self._limits = policy, limits or Limits()
        self._resolve, self._connect = resolver, connector
        self._tls = tls or _default_tls

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> Response:
        parts = urlsplit(url)
        if parts.scheme not in self._policy.schemes:
            raise TransportError(f"{parts.scheme}:// is not allowed here", "url_refused")
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        address = self._checked_address(host, port)
        live: list[socket.socket] = []  # the connection's socket as it is now (plain, then TLS)
        connection = self._connection(parts.scheme, host, port, address, live)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        timer = threading.Timer(self._limits.total_s, _cut, args=(live,))
        timer.daemon = True
        started = time.monotonic()
        try:
            timer.start()
            connection.request("POST", path, body=body, headers={**headers, "Connection": "close"})
            live.append(connection.sock)  # http.client lets go of it once the answer says "close"
            connection.sock.settimeout(max(0.001, self._limits.total_s - (time.monotonic() - started)))
            answer = connection.getresponse()
            read, truncated = _drain(answer, self._limits.max_response_bytes)
            return Response(answer.status, address, read, truncated)
        except TransportError:
            raise
        except TimeoutError:
            raise TransportError(f"no answer within {self._limits.total_s:g} s", "timeout") from None
        except (OSError, ValueError, http.client.HTTPException) as failed:  # ValueError: a TLS socket cut
            if time.monotonic() - started >= self._limits.total_s:
                raise TransportError(f"no answer within {self._limits.total_s:g} s", "timeout") from None
            raise TransportError(f"{type(failed).__name__}: {failed}"[:300], "connection_failed") from None
        finally:
            timer.cancel()
            connection.close()

    def _checked_address(self, host: str, port: int) -> str:
        addresses = self._resolved(host, port)
        if not addresses:
            raise TransportError(f"{host} resolves to no address", "dns_failed")
        try:
            for address in addresses:
                self._policy.check(address)
        except RefusedAddress as refused:
            raise TransportError(f"{host} resolves to {refused}", "address_refused") from None
        return addresses[0]

    def _resolved(self, host: str, port: int) -> list[str]:
        """The host's addresses, asked for once, within ``connect_s`` (``getaddrinfo`` has no
        timeout of its own: a resolver left waiting is abandoned on its daemon thread)."""
        answer: list[list[str]] = []
        failure: list[OSError] = []

        def ask() -> None:
            try:
                answer.append(self._resolve(host, port))
            except OSError as failed:
                failure.append(failed)

        asking = threading.Thread(target=ask, name="webhook-dns", daemon=True)
        asking.start()
        asking.join(self._limits.connect_s)
        if failure:
            raise TransportError(f"cannot resolve {host}: {failure[0]}"[:300], "dns_failed")
        if not answer:
            raise TransportError(f"cannot resolve {host} within {self._limits.connect_s:g} s", "dns_failed")
        return answer[0]

    def _connection(
        self, scheme: str, host: str, port: int, address: str, live: list[socket.socket]
    ) -> http.client.HTTPConnection:
        connect_s = self._limits.connect_s

        def pinned(_: tuple[str, int], timeout: float = connect_s, source: object = None) -> socket.socket:
            """``http.client``'s socket factory: the checked address, never the name again."""
            try:
                sock = self._connect((address, port), connect_s)
            except TimeoutError:
                raise TransportError(f"could not connect within {connect_s:g} s", "timeout") from None
            except OSError as failed:
                raise TransportError(f"could not connect: {failed}"[:300], "connection_failed") from None
            if sock.family in (socket.AF_INET, socket.AF_INET6):
                peer = str(sock.getpeername()[0])
                if ipaddress.ip_address(peer.split("%", 1)[0]) != ipaddress.ip_address(address.split("%", 1)[0]):
                    sock.close()
                    raise TransportError(f"connected to {peer}, not the checked {address}", "address_refused")
            live.append(sock)
            return sock

        connection: http.client.HTTPConnection
        if scheme == "https":
            connection = http.client.HTTPSConnection(host, port, timeout=connect_s, context=self._tls())
        else:
            connection = http.client.HTTPConnection(host, port, timeout=connect_s)
        connection._create_connection = pinned  # type: ignore[attr-defined]  # http.client's own hook
        return connection


def _cut(live: list[socket.socket]) -> None:
    """The total time is up: end the exchange wherever it is (blocked reads return at once)."""
    if live:
        with contextlib.suppress(OSError, ValueError):
            live[-1].shutdown(socket.SHUT_RDWR)


def _drain(answer: http.client.HTTPResponse, limit: int) -> tuple[int, bool]:
    """Read at most ``limit`` bytes of the answer; (bytes read, whether more were left)."""
    read = 0
    while read <= limit:
        chunk = answer.read(min(8192, limit + 1 - read))
        if not chunk:
            return read, False
        read += len(chunk)
    return min(read, limit), True


def _default_tls() -> ssl.SSLContext:
    return ssl.create_default_context()
