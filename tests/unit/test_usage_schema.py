"""The usage event contract read by two validators: jsonschema-rs vouches for the events it
accepts, jsonschema judges the rest, and every answer is jsonschema's."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from billing.usage import schema

VALID = {
    "transaction_id": "evt-1",
    "customer": "cus_1",
    "code": "api_calls",
    "timestamp": "2026-03-15T12:30:00Z",
    "properties": {"bytes": 10, "path": "/v1/x"},
}
# Text near the contract's bounds: its patterns' characters, newlines, non-ASCII digits, lengths.
edgy_text = st.one_of(
    st.text(alphabet=st.sampled_from("aZ09_.-!~ \n\t/é٣"), max_size=70),
    st.sampled_from(["", "a" * 64, "a" * 65, "x" * 128, "x" * 129, "abc\n", "١٢٣", "a\ud800b"]),
)
timestamps = st.one_of(
    edgy_text,
    st.sampled_from(["2026-03-15T12:30Z", "2026-03-15T12:30:00.123456789+05:30", "2026-03-15T12:30:00Z\n",
                     "٢٠٢٦-03-15T12:30:00Z", "2026-03-15 12:30:00Z"]),
)  # fmt: skip
values = st.one_of(
    st.none(), st.booleans(), st.integers(), st.decimals(), st.floats(), edgy_text,
    st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)  # fmt: skip
fields = {
    "transaction_id": edgy_text,
    "customer": edgy_text,
    "code": edgy_text,
    "timestamp": timestamps,
    "properties": st.one_of(st.dictionaries(st.text(max_size=66), values, max_size=34), values),
}
MISSING = object()


@st.composite
def events(draw: st.DrawFn) -> dict[str, Any]:
    """A valid event with at most two fields changed, left out or added."""
    event: dict[str, Any] = dict(VALID)
    for name in draw(st.sets(st.sampled_from([*fields, "extra"]), max_size=2)):
        value = draw(st.one_of(fields.get(name, values), st.just(MISSING)))
        event[name] = value
        if value is MISSING:
            del event[name]
    return event


@settings(max_examples=400)
@given(events())
def test_every_answer_is_jsonschemas(event: dict[str, Any]) -> None:
    assert schema.problem(event) == schema.first_problem(event)


def test_jsonschema_rs_vouches_for_valid_events_and_jsonschema_rules_the_rest() -> None:
    assert schema.vouched(VALID) and schema.problem(VALID) is None
    assert schema.vouched({**VALID, "properties": {"bytes": Decimal("1.5"), "flag": True, "none": None}})
    # Python's patterns match before a final newline: valid for the contract as jsonschema reads it
    newline = {**VALID, "code": "api_calls\n"}
    assert not schema.vouched(newline) and schema.problem(newline) is None
    missing = {k: v for k, v in VALID.items() if k != "customer"}
    assert schema.problem(missing) == ("parameter_missing", "customer is required.", "customer")
