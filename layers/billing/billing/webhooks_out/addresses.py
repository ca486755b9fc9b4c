"""Where a webhook may go (SSRF rules): the tenant names the URL, the platform decides which
addresses it may reach.

- Only public unicast addresses (``ipaddress``'s ``is_global``): no private (10/8, 172.16/12,
  192.168/16), loopback, link-local (169.254/16, where the cloud metadata service answers, and
  fe80::/10), carrier-grade NAT (100.64/10), unique-local IPv6 (fc00::/7, AWS's metadata at
  fd00:ec2::254), multicast, reserved or unspecified addresses. An IPv6 address that carries an
  IPv4 one (IPv4-mapped ``::ffff:a.b.c.d``, 6to4 ``2002::/16``, Teredo, NAT64 ``64:ff9b::/96``)
  is judged by the IPv4 address it carries.
- ``https`` only, unless the platform runs for local development: its configuration (never a
  tenant) names networks allowed beside the public ones (``OUTBOUND_WEBHOOK_ALLOWED_NETWORKS``,
  e.g. ``127.0.0.1/32``; the embedded stack sets it, a deployment does not), and then ``http``
  is taken too.
- The URL is checked when an endpoint is made or changed (its scheme, no user:password, a host
  that is an allowed address when it is an address, not ``localhost``), but what counts is the
  check at connect time (``transport``): the host is resolved then, every address it resolves to
  must be allowed, and the connection goes to the address that was checked, so a name that
  resolves to something else a moment later (DNS rebinding) changes nothing.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

from billing.errors import InvalidRequest

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
METADATA = (ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254"))


class RefusedAddress(Exception):
    """A delivery would reach an address it must not (or a URL it must not use)."""


def _carried(address: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 one carries, if any; else the address itself."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.sixtofour is not None:
            return address.sixtofour
        if address.teredo is not None:
            return address.teredo[1]
        if address in _NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


@dataclass(frozen=True)
class AddressPolicy:
    """``allowed``: networks a local development platform permits beside the public ones."""

    allowed: tuple[Network, ...] = ()

    @classmethod
    def from_config(cls, value: str | None) -> AddressPolicy:
        """``"127.0.0.1/32,::1/128"`` (platform configuration); empty or None: none."""
        networks = [item.strip() for item in (value or "").split(",") if item.strip()]
        return cls(tuple(ipaddress.ip_network(item, strict=False) for item in networks))

    @property
    def schemes(self) -> tuple[str, ...]:
        return ("https", "http") if self.allowed else ("https",)

    def permits(self, address: IPAddress) -> bool:
        if any(address in network for network in self.allowed if network.version == address.version):
            return True
        judged = _carried(address)
        if judged in METADATA:
            return False
        return judged.is_global and not (judged.is_multicast or judged.is_reserved or judged.is_unspecified)

    def check(self, address: str) -> IPAddress:
        """``address`` parsed, or a ``RefusedAddress`` naming it."""
        parsed = ipaddress.ip_address(address.split("%", 1)[0])  # a zone index (fe80::1%eth0) never helps
        if not self.permits(parsed):
            raise RefusedAddress(f"{address} is not a public address")
        return parsed

    def check_url(self, url: str) -> str:
        """The URL as stored, or a 400 naming ``url``: what can be told before resolving it."""
        if any(ord(char) <= 0x20 or ord(char) == 0x7F for char in url):
            raise InvalidRequest("Invalid url: spaces and control characters are not taken.", param="url")
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as bad:
            raise InvalidRequest(f"Invalid url: {bad}.", param="url") from None
        if parts.scheme not in self.schemes:
            raise InvalidRequest(f"Invalid url: it must start with {' or '.join(s + '://' for s in self.schemes)}.",
                                 param="url")  # fmt: skip
        host = (parts.hostname or "").rstrip(".")
        if not host:
            raise InvalidRequest("Invalid url: it names no host.", param="url")
        if parts.username is not None or parts.password is not None:
            raise InvalidRequest("Invalid url: credentials in the URL are not taken.", param="url")
        if parts.fragment:
            raise InvalidRequest("Invalid url: a fragment is never sent; leave it out.", param="url")
        if port == 0:
            raise InvalidRequest("Invalid url: port 0.", param="url")
        try:
            literal: IPAddress | None = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        if literal is not None and not self.permits(literal):
            raise InvalidRequest(f"Invalid url: {host} is not a public address.", param="url")
        if literal is None and (host == "localhost" or host.endswith(".localhost")) and not self.allowed:
            raise InvalidRequest("Invalid url: localhost is not reachable from the platform.", param="url")
        return url
