"""The ``Billing-Signature`` header, as a receiver checks it: Stripe's scheme, computed here
independently of the code under test."""

from __future__ import annotations

import hashlib
import hmac
import re

from billing.webhooks_out import retries, signing

SECRET = "whsec_k3yk3yk3yk3yk3yk3yk3yk3yk3yk3yk3yk3yk3yk3yk"
BODY = b'{"id":"evt_1","type":"InvoiceFinalized","data":{"object":{"total":1250}}}'


def test_the_header_is_t_and_v1_over_timestamp_dot_body() -> None:
    value = signing.header(SECRET, BODY, 1767225600)
    match = re.fullmatch(r"t=(\d+),v1=([0-9a-f]{64})", value)
    assert match and match.group(1) == "1767225600"
    expected = hmac.new(SECRET.encode(), b"1767225600." + BODY, hashlib.sha256).hexdigest()
    assert match.group(2) == expected


def test_a_receiver_accepts_it_within_the_tolerance_and_nothing_else() -> None:
    value = signing.header(SECRET, BODY, 1000)
    assert signing.verify(value, BODY, SECRET, now=1000 + 300)
    assert not signing.verify(value, BODY, SECRET, now=1000 + 301)  # a replay, later
    assert not signing.verify(value, BODY + b" ", SECRET, now=1000)  # another body
    assert not signing.verify(value, BODY, SECRET + "x", now=1000)  # another secret
    moved = value.replace("t=1000", "t=1200")  # the timestamp is signed: it cannot be moved
    assert not signing.verify(moved, BODY, SECRET, now=1200)
    assert not signing.verify("v1=" + "0" * 64, BODY, SECRET, now=1000)
    rotated = f"{value},v1={'0' * 64}"  # several v1 values: one matching is enough
    assert signing.verify(rotated, BODY, SECRET, now=1000)


def test_secrets_are_fresh_and_shaped_like_stripes() -> None:
    made = {signing.new_secret() for _ in range(50)}
    assert len(made) == 50
    assert all(re.fullmatch(r"whsec_[A-Za-z0-9_-]{43}", secret) for secret in made)


def test_retries_back_off_then_give_up() -> None:
    delays = [retries.next_delay(n) for n in range(1, retries.MAX_ATTEMPTS + 1)]
    assert delays[-1] is None and all(delays[:-1])
    seconds = [d.total_seconds() for d in delays[:-1] if d is not None]
    assert seconds == sorted(seconds) and seconds[0] == 60 and max(seconds) <= 12 * 3600
    assert 24 * 3600 < sum(seconds) < 36 * 3600  # about a day and a half of trying
