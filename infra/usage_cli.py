"""``billing usage ...``: usage the aggregator could not count, listed and replayed.

Two kinds wait for an operator: records the aggregator parked (it could never apply them;
ids ``upk_...``), and stream batches Lambda gave up on after its retries (the messages of the
mapping's on-failure queue, named by message id). ``replay`` counts either again, once.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from billing.usage.aggregator import Parked


def dead_letters(as_json: bool) -> int:
    """Usage not counted yet: records the aggregator parked, and stream batches Lambda gave up on."""
    from billing.adapters.services import failed_batches

    parked = _all_parked()
    batches = failed_batches().waiting()
    if as_json:
        print(json.dumps({"parked": [_parked_json(p) for p in parked], "failed_batches": [
            {k: v for k, v in vars(b).items() if k != "receipt"} for b in batches]}))  # fmt: skip
        return 0
    print(f"{len(parked)} parked record(s), {len(batches)} failed stream batch(es).")
    for p in parked:
        where = f"{p.scope.key if p.scope else '?'} {p.transaction_id or '?'}"
        print(f"  {p.id}  parked {p.parked_at}  {where}  attempts {p.attempts}: {p.error}")
    for b in batches:
        print(f"  {b.message_id}  {b.condition} {b.failed_at}  {b.size} record(s) {b.first}..{b.last} of {b.shard_id}")
    return 0


def _all_parked() -> list[Parked]:
    from billing.adapters.services import usage_dead_letters

    parked: list[Parked] = []
    while True:
        page = usage_dead_letters().list(100, parked[-1].id if parked else None)
        parked += page.data
        if not page.has_more or not page.data:
            return parked


def _parked_json(parked: Parked) -> dict[str, object]:
    return {**vars(parked), "scope": parked.scope.key if parked.scope else None}


def replay(ids: Sequence[str], replay_all: bool) -> int:
    """Count parked records and failed batches (``--all``, or the ids given) again; exit 1 when
    any of them stays uncounted."""
    from billing.adapters.services import failed_batches, usage_dead_letters
    from billing.errors import NotFound

    if not ids and not replay_all:
        print("error: name the records to replay, or --all", file=sys.stderr)
        return 2
    parked_ids = [p.id for p in _all_parked()] if replay_all else []
    parked_ids += [i for i in ids if i.startswith("upk_")]
    held = failed_batches().waiting(hold_s=300)
    batches = [b for b in held if replay_all or b.message_id in ids]
    for other in set(held) - set(batches):
        failed_batches().release(other)
    failures = 0
    for parked_id in parked_ids:
        try:
            reason = usage_dead_letters().replay(parked_id)
        except NotFound:
            reason = "no such parked record"
        failures += reason is not None
        print(f"{parked_id}: " + ("counted" if reason is None else f"not counted: {reason}"))
    for batch in batches:
        try:
            progress = failed_batches().replay(batch)
            outcome = f"stopped: {progress.error!r}" if progress.error else f"counted, {len(progress.parked)} parked"
        except NotFound as gone:
            outcome = f"not counted: {gone.message}"
        failures += not outcome.startswith("counted")
        print(f"{batch.message_id}: {outcome}")
    for missing in sorted(set(ids) - set(parked_ids) - {b.message_id for b in batches}):
        failures += 1
        print(f"{missing}: not counted: no such failed batch")
    return 1 if failures else 0
