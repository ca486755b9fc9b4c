"""Ids are prefixed, time-ordered and unguessable; API keys are random, hashed and checked in constant time."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from billing import api_keys
from billing.ids import is_id, new_id


def test_ids_carry_their_prefix_and_sort_by_creation_time() -> None:
    earlier, later = new_id("cus", 1_700_000_000_000), new_id("cus", 1_700_000_000_001)
    assert earlier.startswith("cus_") and is_id(earlier, "cus")
    assert earlier < later
    assert not is_id(earlier, "inv")


def test_ids_created_in_the_same_millisecond_differ() -> None:
    ids = {new_id("cus", 1_700_000_000_000) for _ in range(1000)}
    assert len(ids) == 1000


@given(st.integers(min_value=0, max_value=2**48 - 2), st.integers(min_value=1, max_value=2**20))
def test_ids_of_later_milliseconds_sort_later(earlier_ms: int, gap: int) -> None:
    first, second = new_id("cus", earlier_ms), new_id("cus", min(earlier_ms + gap, 2**48 - 1))
    assert is_id(first, "cus") and is_id(second, "cus")
    assert first < second


@given(st.text(max_size=40))
def test_is_id_accepts_only_its_own_shape(text: str) -> None:
    body = text.removeprefix("cus_")
    expected = (
        text.startswith("cus_") and len(body) == 26 and all(c in "0123456789abcdefghjkmnpqrstvwxyz" for c in body)
    )
    assert is_id(text, "cus") is expected


def test_keys_are_mode_prefixed_and_long() -> None:
    test_key, live_key = api_keys.generate(livemode=False), api_keys.generate(livemode=True)
    assert test_key.startswith("sk_test_") and live_key.startswith("sk_live_")
    assert len(test_key) - len("sk_test_") >= 43  # 32 bytes in base64url
    assert api_keys.is_well_formed(test_key) and api_keys.is_live(live_key)
    assert not api_keys.is_live(test_key)


def test_only_the_digest_is_needed_to_recognise_a_key() -> None:
    secret = api_keys.generate(livemode=False)
    stored = api_keys.digest(secret)
    assert secret not in stored
    assert api_keys.matches(secret, stored)
    assert not api_keys.matches(api_keys.generate(livemode=False), stored)


def test_bearer_token_parsing() -> None:
    assert api_keys.bearer_token("Bearer sk_test_abc") == "sk_test_abc"
    assert api_keys.bearer_token("bearer   sk_test_abc ") == "sk_test_abc"
    assert api_keys.bearer_token("Basic abc") is None
    assert api_keys.bearer_token("Bearer ") is None
    assert api_keys.bearer_token(None) is None
