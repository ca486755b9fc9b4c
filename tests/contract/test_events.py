"""api_spec/events.yaml lists exactly the domain events the code can emit."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from billing.catalog.kinds import KINDS

ROOT = Path(__file__).resolve().parents[2]
CORE = ROOT / "layers" / "billing" / "billing"
LITERAL = re.compile(
    r'"([A-Z][A-Za-z]+(?:Created|Updated|Archived|Changed|Canceled|Scheduled|Paused|Resumed|Added|Removed|Requested'
    r"|Finalized|Voided|Issued|Renewed|Succeeded|Failed|Paid|Refunded|Reminder|Retried|Charged|Suspended|Reinstated"
    r'|Notice|Uncollectible|Low|Exhausted))"'
)


def emitted() -> set[str]:
    """Event names written as literals in the core, plus the catalog's, made per kind."""
    names = {match for path in CORE.rglob("*.py") for match in LITERAL.findall(path.read_text())}
    names.discard("VersionCreated")  # the suffix of the catalog's version events, below
    names.discard("ConditionalCheckFailed")  # DynamoDB's error code, not an event
    for kind in KINDS.values():
        names |= {f"{kind.event}Created", f"{kind.event}Updated"}
        if kind.versioned:
            names.add(f"{kind.event}VersionCreated")
    return names


def test_every_emitted_event_is_documented_and_nothing_else() -> None:
    documented = set(yaml.safe_load((ROOT / "api_spec" / "events.yaml").read_text())["events"])
    assert documented == emitted()


def test_every_event_has_a_description_and_data() -> None:
    for name, spec in yaml.safe_load((ROOT / "api_spec" / "events.yaml").read_text())["events"].items():
        assert spec["description"] and spec["data"], name
