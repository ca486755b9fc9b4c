"""SSRF rules of outbound webhooks: which addresses and URLs a tenant's endpoint may name."""

from __future__ import annotations

import pytest

from billing.errors import InvalidRequest
from billing.webhooks_out.addresses import AddressPolicy, RefusedAddress

PUBLIC = AddressPolicy()
LOCAL = AddressPolicy.from_config("127.0.0.1/32, ::1/128")

REFUSED = [
    "127.0.0.1", "127.3.2.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "169.254.1.1",
    "100.64.0.1", "0.0.0.0", "224.0.0.1", "255.255.255.255", "240.0.0.1", "192.0.2.1",
    "::1", "::", "fe80::1", "fe80::1%eth0", "fc00::1", "fd00:ec2::254", "ff02::1",
    "::ffff:127.0.0.1", "::ffff:169.254.169.254", "2002:a9fe:a9fe::1", "64:ff9b::a9fe:a9fe", "64:ff9b::7f00:1",
]  # fmt: skip


@pytest.mark.parametrize("address", REFUSED)
def test_private_loopback_link_local_metadata_and_disguised_addresses_are_refused(address: str) -> None:
    with pytest.raises(RefusedAddress):
        PUBLIC.check(address)


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946", "::ffff:93.184.216.34"])
def test_public_addresses_are_taken(address: str) -> None:
    PUBLIC.check(address)


def test_the_platforms_allow_list_opens_only_what_it_names() -> None:
    LOCAL.check("127.0.0.1")
    LOCAL.check("::1")
    for address in ("127.0.0.2", "10.0.0.1", "169.254.169.254"):
        with pytest.raises(RefusedAddress):
            LOCAL.check(address)
    assert AddressPolicy.from_config(None) == AddressPolicy.from_config("") == PUBLIC


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/hook",  # https only outside local development
        "ftp://example.com/hook",
        "https://",
        "https://user:pass@example.com/hook",
        "https://example.com/hook#part",
        "https://127.0.0.1/hook",
        "https://[::1]/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://10.0.0.5:8443/hook",
        "https://localhost/hook",
        "https://api.localhost./hook",
        "https://example.com:99999/hook",
        "https://exa mple.com/hook",
        "https://example.com/a\r\nX-Injected: 1",
        "https://[::1/hook",
    ],
)
def test_urls_that_can_be_refused_before_resolving_are_refused_naming_url(url: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        PUBLIC.check_url(url)
    assert refused.value.param == "url"


def test_https_urls_of_public_hosts_are_taken_and_local_development_takes_http_to_its_own() -> None:
    assert PUBLIC.check_url("https://erp.example.com:8443/hooks?source=billing") == (
        "https://erp.example.com:8443/hooks?source=billing")  # fmt: skip
    assert LOCAL.check_url("http://127.0.0.1:8080/hooks") == "http://127.0.0.1:8080/hooks"
    with pytest.raises(InvalidRequest):
        LOCAL.check_url("http://10.0.0.1/hooks")
