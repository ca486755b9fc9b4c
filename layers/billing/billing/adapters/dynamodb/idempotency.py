"""Idempotency claims in the billing table: ``PK={scope}#IDEM#{key}``, ``SK=IDEM``.

``expires_at`` (epoch seconds, also the table's TTL attribute) is the lease end
while the request runs and the retention end once it answered. A claim whose
``expires_at`` passed is free again, whether or not TTL removed it yet. The answer's body
is kept zlib-compressed (``body_z``), far below the 400 KB an item holds even for a batch
answer listing 1,000 refusals; ``body`` (plain JSON) is read from claims stored before.

The item has its own shape (``to_item``/``from_item``): the request's fingerprint and, once it
answered, the HTTP answer itself, which a retry must get back byte for byte.
"""

from __future__ import annotations

import json
import zlib
from datetime import datetime
from typing import Any

from billing.adapters.dynamodb import table
from billing.idempotency import Claim, StoredResponse
from billing.scope import Scope


def _key(scope: Scope, key: str) -> dict[str, str]:
    return {"PK": f"{scope.key}#IDEM#{key}", "SK": "IDEM"}


def to_item(scope: Scope, key: str, fingerprint: str, lease_until: datetime) -> dict[str, Any]:
    """A new claim, while its request runs (``complete`` adds the answer)."""
    return {
        **_key(scope, key),
        "entity": "idempotency_key",
        "fingerprint": fingerprint,
        "expires_at": int(lease_until.timestamp()),
    }


def from_item(item: dict[str, Any]) -> Claim:
    response = None
    if "status" in item:
        body = zlib.decompress(item["body_z"]) if "body_z" in item else item["body"]
        response = StoredResponse(status=int(item["status"]), body=json.loads(body))
    return Claim(fingerprint=item["fingerprint"], response=response)


def _compressed(body: object) -> bytes:
    return zlib.compress(json.dumps(body, separators=(",", ":")).encode())


class DynamoIdempotencyStore:
    def claim(self, scope: Scope, key: str, fingerprint: str, now: datetime, lease_until: datetime) -> Claim | None:
        item, condition = to_item(scope, key, fingerprint, lease_until), "attribute_not_exists(PK) OR expires_at < :now"
        kept = table.put_unless_kept(item, condition, {":now": int(now.timestamp())})
        if kept is None:
            return None
        if kept.item is None:  # released between our write and our read: claim again
            return self.claim(scope, key, fingerprint, now, lease_until)
        return from_item(kept.item)

    def complete(self, scope: Scope, key: str, response: StoredResponse, expires_at: datetime) -> None:
        table.client().update_item(
            TableName=table.table_name(),
            Key=table.encode(_key(scope, key)),
            UpdateExpression="SET #status = :status, body_z = :body, expires_at = :exp",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=table.encode(
                {":status": response.status, ":body": _compressed(response.body), ":exp": int(expires_at.timestamp())}
            ),
        )

    def release(self, scope: Scope, key: str) -> None:
        table.client().delete_item(TableName=table.table_name(), Key=table.encode(_key(scope, key)))
