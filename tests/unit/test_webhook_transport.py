"""The outbound POST: the address checked is the one connected to, nothing is followed, and
time and size are bounded. The receiver is scripted per test on the loopback interface (no
other network); the resolver is scripted too, and the connector records where it was asked to
connect. The policy allows 127.0.0.1 here, as the embedded stack's does, so loopback stands
for "an address that passed the check"."""

from __future__ import annotations

import contextlib
import re
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from billing.webhooks_out.addresses import AddressPolicy
from billing.webhooks_out.transport import Limits, SafeTransport, TransportError

CHECKED, PUBLIC_IP = "127.0.0.1", "93.184.216.34"
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


class Peer:
    """A receiver on loopback: reads one request, then sends ``chunks`` (each after ``pause_s``)."""

    def __init__(self, *chunks: bytes, pause_s: float = 0.0):
        self.chunks, self.pause_s = chunks or (OK,), pause_s
        self.connected_to: list[tuple[str, int]] = []
        self.requests: list[bytes] = []
        self._server = socket.create_server(("127.0.0.1", 0))
        threading.Thread(target=self._serve, daemon=True).start()

    def __call__(self, address: tuple[str, int], timeout: float) -> socket.socket:
        self.connected_to.append(address)
        return socket.create_connection((address[0], self._server.getsockname()[1]), timeout)

    def _serve(self) -> None:
        sock, _ = self._server.accept()
        data = b""
        with sock:
            while b"\r\n\r\n" not in data:
                data += sock.recv(65536)
            head, _, body = data.partition(b"\r\n\r\n")
            length = re.search(rb"(?i)content-length: *(\d+)", head)
            while length and len(body) < int(length.group(1)):
                body += sock.recv(65536)
            self.requests.append(head + b"\r\n\r\n" + body)
            with contextlib.suppress(OSError):  # the client gave up
                for chunk in self.chunks:
                    time.sleep(self.pause_s)
                    sock.sendall(chunk)


class Resolver:
    """A DNS that answers ``answers`` in turn (a rebinding attacker's: public, then private)."""

    def __init__(self, *answers: list[str]):
        self.answers: Iterator[list[str]] = iter(answers)
        self.asked = 0

    def __call__(self, host: str, port: int) -> list[str]:
        self.asked += 1
        return next(self.answers)


def transport(peer: Peer, resolver: Resolver, limits: Limits | None = None) -> SafeTransport:
    policy = AddressPolicy.from_config(f"{CHECKED}/32")  # http allowed too: the receiver speaks plain HTTP
    return SafeTransport(policy, limits, resolver=resolver, connector=peer)


def test_the_request_goes_to_the_checked_address_with_the_host_name_and_body() -> None:
    peer, dns = Peer(), Resolver([CHECKED, PUBLIC_IP])
    answer = transport(peer, dns).post("http://hooks.example.com:8080/in?x=1", b'{"a":1}', {"X-Test": "1"})
    assert (answer.status, answer.address, answer.truncated) == (200, CHECKED, False)
    assert peer.connected_to == [(CHECKED, 8080)] and dns.asked == 1
    (request,) = peer.requests
    assert request.startswith(b"POST /in?x=1 HTTP/1.1\r\n")
    assert b"Host: hooks.example.com:8080\r\n" in request and b"X-Test: 1\r\n" in request
    assert request.endswith(b'\r\n\r\n{"a":1}')


def test_a_name_resolving_to_a_private_address_is_refused_before_connecting() -> None:
    for answer in (["10.0.0.8"], ["169.254.169.254"], [CHECKED, "127.0.0.2"], ["::ffff:10.0.0.8"], []):
        peer = Peer()
        with pytest.raises(TransportError) as refused:
            transport(peer, Resolver(answer)).post("http://hooks.example.com/", b"{}", {})
        assert refused.value.code in ("address_refused", "dns_failed"), answer
        assert peer.connected_to == []


def test_dns_rebinding_changes_nothing_the_name_is_resolved_once_and_the_checked_address_used() -> None:
    """The attacker's DNS answers an allowed address to the check and the metadata service's to
    any later lookup: there is no later lookup, the connection goes to the address checked."""
    peer, dns = Peer(), Resolver([CHECKED], ["169.254.169.254"], ["169.254.169.254"])
    assert transport(peer, dns).post("http://rebind.example.com/", b"{}", {}).status == 200
    assert dns.asked == 1 and peer.connected_to == [(CHECKED, 80)]


def test_a_socket_connected_elsewhere_than_the_checked_address_is_refused() -> None:
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def elsewhere(address: tuple[str, int], timeout: float) -> socket.socket:
        return socket.create_connection(("127.0.0.1", port), timeout)  # not where it was asked to go

    policy = AddressPolicy.from_config("127.0.0.1/32")
    with server, pytest.raises(TransportError) as refused:
        SafeTransport(policy, resolver=Resolver([PUBLIC_IP]), connector=elsewhere).post("http://x.example/", b"", {})
    assert refused.value.code == "address_refused"


def test_redirects_are_not_followed() -> None:
    peer = Peer(b"HTTP/1.1 302 Found\r\nLocation: http://169.254.169.254/latest\r\nContent-Length: 0\r\n\r\n")
    dns = Resolver([CHECKED], ["169.254.169.254"])
    answer = transport(peer, dns).post("http://hooks.example.com/", b"{}", {})
    assert answer.status == 302 and len(peer.requests) == 1 and dns.asked == 1


def test_at_most_the_size_limit_of_an_answer_is_read() -> None:
    huge = b"HTTP/1.1 200 OK\r\nContent-Length: 10000000\r\n\r\n" + b"x" * 200_000
    limits = Limits(max_response_bytes=1024)
    answer = transport(Peer(huge), Resolver([CHECKED]), limits).post("http://h.example/", b"", {})
    assert (answer.status, answer.body_bytes, answer.truncated) == (200, 1024, True)


def test_a_receiver_that_never_answers_or_trickles_is_cut_off_at_the_total_time() -> None:
    limits = Limits(connect_s=1, total_s=0.5)
    silent = Peer(b"", pause_s=5)
    started = time.monotonic()
    with pytest.raises(TransportError) as slow:
        transport(silent, Resolver([CHECKED]), limits).post("http://h.example/", b"{}", {})
    assert slow.value.code == "timeout" and time.monotonic() - started < 2
    trickle = Peer(*[b"H", b"T", b"T", b"P", b"/", b"1"] * 20, pause_s=0.1)
    started = time.monotonic()
    with pytest.raises(TransportError) as trickled:
        transport(trickle, Resolver([CHECKED]), limits).post("http://h.example/", b"{}", {})
    assert trickled.value.code == "timeout" and time.monotonic() - started < 2


def test_http_is_refused_where_only_https_is_allowed() -> None:
    peer = Peer()
    strict = SafeTransport(AddressPolicy(), resolver=Resolver([PUBLIC_IP]), connector=peer)
    with pytest.raises(TransportError) as refused:
        strict.post("http://hooks.example.com/", b"{}", {})
    assert refused.value.code == "url_refused" and peer.connected_to == []


def test_a_resolver_that_hangs_is_given_up_within_the_connect_time() -> None:
    def hanging(host: str, port: int) -> list[str]:
        time.sleep(5)
        return [CHECKED]

    peer = Peer()
    slow_dns = SafeTransport(AddressPolicy.from_config(f"{CHECKED}/32"), Limits(connect_s=0.3), resolver=hanging,
                             connector=peer)  # fmt: skip
    started = time.monotonic()
    with pytest.raises(TransportError) as refused:
        slow_dns.post("http://slow.example/", b"{}", {})
    assert refused.value.code == "dns_failed" and time.monotonic() - started < 2 and peer.connected_to == []


def _self_signed(tmp: Path, name: str) -> tuple[Path, Path]:
    """A certificate for ``name`` and its key, as PEM files (``cryptography`` comes with moto)."""
    crypto = pytest.importorskip("cryptography")
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    assert crypto
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    cert_file, key_file = tmp / "cert.pem", tmp / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))  # fmt: skip
    return cert_file, key_file


def _read_request(conn: ssl.SSLSocket) -> bytes:
    """One HTTP request, headers and ``Content-Length`` body (the client may send them apart)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                   if line.lower().startswith(b"content-length:")), 0)  # fmt: skip
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


def test_https_is_pinned_to_the_checked_address_yet_verified_against_the_host_name(tmp_path: Path) -> None:
    """The connection goes to the checked address, the TLS handshake names the URL's host (SNI)
    and the certificate must be that host's: pinning the address loses no TLS check."""
    cert_file, key_file = _self_signed(tmp_path, "hooks.example.test")
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(cert_file, key_file)
    server = socket.create_server((CHECKED, 0))
    names: list[str | None] = []
    server_tls.sni_callback = lambda sock, name, context: names.append(name)

    def serve() -> None:
        for _ in range(2):
            raw, _ = server.accept()
            with contextlib.suppress(OSError), server_tls.wrap_socket(raw, server_side=True) as tls:
                _read_request(tls)  # whole: closing with the body unread would reset the connection
                tls.sendall(OK)

    threading.Thread(target=serve, daemon=True).start()
    port = server.getsockname()[1]
    client = SafeTransport(AddressPolicy.from_config(f"{CHECKED}/32"), resolver=Resolver([CHECKED], [CHECKED]),
                           tls=lambda: ssl.create_default_context(cafile=str(cert_file)))  # fmt: skip
    with server:
        assert client.post(f"https://hooks.example.test:{port}/in", b"{}", {}).status == 200
        with pytest.raises(TransportError) as mismatch:  # same address, another name: not its certificate
            client.post(f"https://other.example.test:{port}/in", b"{}", {})
    assert mismatch.value.code == "connection_failed" and "certificate" in str(mismatch.value).lower()
    assert names[:2] == ["hooks.example.test", "other.example.test"]
