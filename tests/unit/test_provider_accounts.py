"""Payment provider accounts: configured per tenant and mode, sealed, never shown, disabled;
the endpoint id stays when the credentials are replaced."""

from __future__ import annotations

import json
import logging
import re
from dataclasses import replace
from typing import Any

import pytest

from billing.errors import InvalidRequest, NotFound
from billing.ids import is_id
from billing.payments.accounts import ProviderAccounts, context
from billing.payments.providers import stripe, whitepay
from billing.scope import Scope
from tests.unit.clock import FrozenClock
from tests.unit.fakes import FakeCipher, MemoryProviderAccounts

TEST, LIVE = Scope("ten_a", livemode=False), Scope("ten_a", livemode=True)
API_KEY, WEBHOOK_SECRET = "sk_test_51Nf0abcdefghijklmnop4242", "whsec_0123456789abcdefZYXW"
STRIPE = {"api_key": API_KEY, "webhook_secret": WEBHOOK_SECRET}
WHITEPAY = {"slug": "demo-store", "token": "wp_private_token_9876", "webhook_token": "short"}


class World:
    def __init__(self) -> None:
        self.repo, self.cipher, self.clock = MemoryProviderAccounts(), FakeCipher(), FrozenClock()
        self.accounts = ProviderAccounts(self.repo, self.cipher, self.clock)


@pytest.fixture
def world() -> World:
    return World()


def test_a_configured_account_is_enabled_with_an_unguessable_endpoint(world: World) -> None:
    account = world.accounts.configure(TEST, "stripe", STRIPE)
    assert (account.provider, account.livemode, account.enabled) == ("stripe", False, True)
    assert is_id(account.endpoint_id, "we") and re.fullmatch(r"we_[0-9a-z]{26}", account.endpoint_id)
    assert (
        account.webhook_url("https://billing.example")
        == f"https://billing.example/webhooks/stripe/{account.endpoint_id}"
    )
    assert account.last4 == {"api_key": "4242", "webhook_secret": "ZYXW"}
    assert world.accounts.endpoint(account.endpoint_id) == (TEST, "stripe")
    scope, provider = world.accounts.endpoint(account.endpoint_id) or (None, None)
    assert (scope, provider) == (TEST, "stripe")


def test_the_credentials_are_sealed_for_their_tenant_mode_and_provider(world: World) -> None:
    account = world.accounts.configure(TEST, "stripe", STRIPE)
    assert API_KEY.encode() not in account.sealed and WEBHOOK_SECRET.encode() not in account.sealed
    opened = world.accounts.credentials(TEST, "stripe")
    assert isinstance(opened, stripe.Credentials)
    assert opened.api_key.get_secret_value() == API_KEY
    assert opened.webhook_secret.get_secret_value() == WEBHOOK_SECRET
    for other in (context(LIVE, "stripe"), context(Scope("ten_b", False), "stripe"), context(TEST, "whitepay")):
        with pytest.raises(PermissionError):
            world.cipher.decrypt(account.sealed, other)


def test_replacing_the_credentials_keeps_the_endpoint(world: World) -> None:
    first = world.accounts.configure(TEST, "stripe", STRIPE)
    world.clock.advance(hours=1)
    rotated = world.accounts.configure(TEST, "stripe", {**STRIPE, "webhook_secret": "whsec_rotated_secret_NEW1"})
    assert rotated.endpoint_id == first.endpoint_id and rotated.webhook_path == first.webhook_path
    assert (rotated.revision, rotated.created_at, rotated.updated_at) == (2, first.created_at, world.clock.at)
    assert rotated.last4["webhook_secret"] == "NEW1"
    opened = world.accounts.credentials(TEST, "stripe")
    assert opened is not None and opened.webhook_secret.get_secret_value() == "whsec_rotated_secret_NEW1"


def test_modes_and_providers_have_accounts_and_endpoints_of_their_own(world: World) -> None:
    test = world.accounts.configure(TEST, "stripe", STRIPE)
    live_key = {**STRIPE, "api_key": STRIPE["api_key"].replace("_test_", "_live_")}
    live = world.accounts.configure(LIVE, "stripe", live_key)
    crypto = world.accounts.configure(TEST, "whitepay", WHITEPAY)
    assert len({test.endpoint_id, live.endpoint_id, crypto.endpoint_id}) == 3
    assert world.accounts.endpoint(live.endpoint_id) == (LIVE, "stripe")
    assert [a.provider for a in world.accounts.list(TEST)] == ["stripe", "whitepay"]
    assert world.accounts.enabled(TEST) == ["stripe", "whitepay"] and world.accounts.enabled(LIVE) == ["stripe"]
    assert world.accounts.credentials(Scope("ten_b", False), "stripe") is None


@pytest.mark.parametrize(
    ("scope", "key"),
    [(LIVE, "sk_test_51Nf0abcdefghijk4242"), (TEST, "rk_live_51Nf0abcdefgh4242"), (TEST, "pk_test_51Nf0abcdefgh42")],
)
def test_a_stripe_key_of_the_other_mode_is_refused_naming_it_and_nothing_is_written(
    world: World, scope: Scope, key: str
) -> None:
    with pytest.raises(InvalidRequest) as refused:
        world.accounts.configure(scope, "stripe", {**STRIPE, "api_key": key})
    assert (refused.value.code, refused.value.param) == ("credentials_mode_mismatch", "api_key")
    assert world.accounts.list(scope) == []


def test_a_live_account_stored_with_a_test_key_before_the_check_takes_no_payments(world: World) -> None:
    test = world.accounts.configure(TEST, "stripe", STRIPE)
    sealed = world.cipher.encrypt(json.dumps(STRIPE).encode(), context(LIVE, "stripe"))
    world.repo.create(LIVE, replace(test, livemode=True, endpoint_id="we_" + "1" * 26, sealed=sealed))
    assert [a.provider for a in world.accounts.list(LIVE)] == ["stripe"]
    assert world.accounts.credentials(LIVE, "stripe") is None and world.accounts.enabled(LIVE) == []


def test_only_secrets_show_their_last_four_characters_and_short_ones_none(world: World) -> None:
    account = world.accounts.configure(TEST, "whitepay", WHITEPAY)
    assert account.last4 == {"token": "9876", "webhook_token": None}  # the slug is no secret: not shown either
    opened = world.accounts.credentials(TEST, "whitepay")
    assert isinstance(opened, whitepay.Credentials) and opened.slug == "demo-store"


@pytest.mark.parametrize(
    ("provider", "body", "param", "code"),
    [
        ("stripe", {"api_key": API_KEY}, "webhook_secret", "parameter_missing"),
        ("stripe", {**STRIPE, "slug": "x"}, "slug", "parameter_unknown"),
        ("stripe", {**STRIPE, "api_key": "   "}, "api_key", "parameter_invalid"),
        ("stripe", {**STRIPE, "api_key": 42}, "api_key", "parameter_invalid"),
        ("stripe", {**STRIPE, "webhook_secret": "x" * 1001}, "webhook_secret", "parameter_invalid"),
        ("whitepay", STRIPE, "slug", "parameter_missing"),
        ("stripe", [], None, "body_invalid"),
    ],
)
def test_bad_credentials_name_the_field_and_write_nothing(
    world: World, provider: str, body: Any, param: str | None, code: str
) -> None:
    with pytest.raises(InvalidRequest) as refused:
        world.accounts.configure(TEST, provider, body)
    assert (refused.value.param, refused.value.code) == (param, code)
    assert world.repo.rows == {} and world.repo.endpoints == {}


def test_an_unknown_provider_is_not_found_naming_it(world: World) -> None:
    configure, disable = world.accounts.configure, world.accounts.disable
    for act in (lambda: configure(TEST, "paypal", STRIPE), lambda: disable(TEST, "paypal")):
        with pytest.raises(NotFound) as missing:
            act()
        assert missing.value.param == "provider" and "stripe" in missing.value.message
    with pytest.raises(NotFound) as unconfigured:
        world.accounts.disable(TEST, "stripe")
    assert unconfigured.value.param == "provider"


def test_a_disabled_account_keeps_its_endpoint_but_gives_no_credentials(world: World) -> None:
    account = world.accounts.configure(TEST, "stripe", STRIPE)
    assert world.accounts.credentials(TEST, "stripe") is not None
    disabled = world.accounts.disable(TEST, "stripe")
    assert (disabled.enabled, disabled.endpoint_id, disabled.revision) == (False, account.endpoint_id, 2)
    assert world.accounts.credentials(TEST, "stripe") is None  # this container forgot them at once
    assert world.accounts.enabled(TEST) == []
    assert world.accounts.disable(TEST, "stripe") == disabled  # again: nothing changes
    assert world.accounts.endpoint(account.endpoint_id) == (TEST, "stripe")  # the webhook asks credentials
    enabled = world.accounts.configure(TEST, "stripe", STRIPE)
    assert enabled.enabled and enabled.endpoint_id == account.endpoint_id


def test_opened_credentials_and_endpoints_are_cached_per_container(world: World) -> None:
    account = world.accounts.configure(TEST, "stripe", STRIPE)
    reads, opened = world.repo.reads, world.cipher.opened
    for _ in range(3):
        assert world.accounts.credentials(TEST, "stripe") is not None
        assert world.accounts.endpoint(account.endpoint_id) is not None
    assert world.cipher.opened == opened  # configure left them in the cache
    assert world.repo.reads == reads + 1  # the endpoint, once


def test_endpoint_ids_of_another_shape_are_not_looked_up(world: World) -> None:
    world.accounts.configure(TEST, "stripe", STRIPE)
    reads = world.repo.reads
    for endpoint_id in ("", "ten_a", "we_" + "0" * 25, "we_" + "A" * 26, "we_" + "0" * 26 + "/x"):
        assert world.accounts.endpoint(endpoint_id) is None
    assert world.repo.reads == reads
    assert world.accounts.endpoint("we_" + "0" * 26) is None  # well shaped, never issued


def test_two_first_configurations_racing_share_one_endpoint(world: World) -> None:
    create = world.repo.create

    def lose_the_race(scope: Scope, account: Any) -> None:
        world.repo.create = create  # the other request wins: it wrote its account just before ours
        ProviderAccounts(world.repo, FakeCipher(), world.clock).configure(scope, "stripe", STRIPE)
        create(scope, account)

    world.repo.create = lose_the_race  # type: ignore[method-assign]
    ours = world.accounts.configure(TEST, "stripe", STRIPE)
    assert ours.revision == 2 and list(world.repo.endpoints) == [ours.endpoint_id]


def test_nothing_secret_in_the_public_view_reprs_or_logs(world: World, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    account = world.accounts.configure(TEST, "stripe", STRIPE)
    opened = world.accounts.credentials(TEST, "stripe")
    shown = [repr(account), str(account.to_public("https://billing.example")), repr(opened), str(opened), caplog.text]
    for text in shown:
        assert API_KEY not in text and WEBHOOK_SECRET not in text
    public = account.to_public(None)
    assert public == {
        "object": "payment_provider", "provider": "stripe", "livemode": False, "enabled": True,
        "webhook_url": f"/webhooks/stripe/{account.endpoint_id}",
        "last4": {"api_key": "4242", "webhook_secret": "ZYXW"},
        "created_at": "2026-01-15T12:00:00Z", "updated_at": "2026-01-15T12:00:00Z",
    }  # fmt: skip
