"""Portal links and browser sessions in the billing table (``billing.browser_sessions``).

- link: ``PK=WEBLINK#{sha256(token)}``, ``SK=WEBLINK``; opening it deletes it
  (``DeleteItem`` with ``ReturnValues=ALL_OLD``): whoever deletes it first gets it.
- session: ``PK=WEBSESSION#{sha256(token)}``, ``SK=WEBSESSION``.

Both hold the kind, the scope, the subject and the expiry, and carry the table's TTL
(``expires_at``, epoch seconds) so that DynamoDB removes them; the expiry is checked when read,
since TTL deletes only eventually. Keys hold digests, never a usable token.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from billing.adapters.dynamodb import table
from billing.browser_sessions import BrowserSession
from billing.scope import Scope


def _key(digest: str, link: bool) -> dict[str, str]:
    kind = "WEBLINK" if link else "WEBSESSION"
    return {"PK": f"{kind}#{digest}", "SK": kind}


def to_item(digest: str, session: BrowserSession, link: bool) -> dict[str, Any]:
    item: dict[str, Any] = {
        **_key(digest, link), "entity": "portal_link" if link else "browser_session", "kind": session.kind,
        "tenant_id": session.scope.tenant_id, "livemode": session.scope.livemode, "subject": session.subject,
        "exp": session.expires_at.isoformat(), "expires_at": int(session.expires_at.timestamp()) + 1,
    }  # fmt: skip
    optional = {"ft": session.form_token, "loc": session.locale, "ret": session.return_url}
    return item | {name: value for name, value in optional.items() if value}


def from_item(item: Mapping[str, Any]) -> BrowserSession:
    return BrowserSession(
        kind=item["kind"], scope=Scope(tenant_id=item["tenant_id"], livemode=bool(item["livemode"])),
        subject=item["subject"], expires_at=datetime.fromisoformat(item["exp"]).astimezone(UTC),
        form_token=item.get("ft", ""), locale=item.get("loc"), return_url=item.get("ret"),
    )  # fmt: skip


class DynamoBrowserSessionRepository:
    def put(self, digest: str, session: BrowserSession, link: bool) -> None:
        table.client().put_item(TableName=table.table_name(), Item=table.encode(to_item(digest, session, link)))

    def take_link(self, digest: str) -> BrowserSession | None:
        answer = table.client().delete_item(
            TableName=table.table_name(), Key=table.encode(_key(digest, link=True)), ReturnValues="ALL_OLD"
        )
        old = answer.get("Attributes")
        return from_item(table.decode(old)) if old else None

    def get(self, digest: str) -> BrowserSession | None:
        item = table.get(_key(digest, link=False))
        return from_item(item) if item else None

    def delete(self, digest: str) -> None:
        table.client().delete_item(TableName=table.table_name(), Key=table.encode(_key(digest, link=False)))
