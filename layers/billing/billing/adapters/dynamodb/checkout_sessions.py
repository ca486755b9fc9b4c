"""Checkout sessions in the billing table.

- session: ``PK={scope}#CHK#{id}``, ``SK=CHK``; ``customer`` and ``pays`` (the ids of the
  payments started on its page, appended as they start) are attributes of the item, the rest
  one compressed ``body`` in the adapter's own shape (``SESSION``). Its expiry is in the body,
  not in ``expires_at``: that attribute is the table's TTL, and an expired session is kept.
- token guard: ``PK=CHKTOKEN#{sha256(token)}``, ``SK=CHKTOKEN``, holding the session's
  ``tenant_id``, ``livemode`` and ``session``: the public page has no scope, only the token,
  and finds the session through it (two ``GetItem``s).
- Starting a payment on the page writes the pending payment, its provider reference
  (``attribute_not_exists``: a provider's checkout belongs to one payment) and the session's
  ``pays`` (``list_append``) in one transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from billing.adapters.dynamodb import payments, table
from billing.adapters.dynamodb.shapes import Shape, pack, unpack
from billing.errors import Conflict
from billing.payments.checkout import CheckoutSession, token_digest
from billing.payments.model import Payment
from billing.scope import Scope

SESSION = Shape(
    CheckoutSession,
    {
        "id": "id", "lm": "livemode", "pp": "purpose", "inv": "invoice", "a": "amount", "cur": "currency",
        "exp": "expires_at", "ca": "created_at", "tok": "token", "ft": "form_token",
    },
)  # fmt: skip
"""The session as stored; ``customer`` and ``pays`` are attributes of the item."""


def _key(scope: Scope, session_id: str) -> dict[str, str]:
    return {"PK": f"{scope.key}#CHK#{session_id}", "SK": "CHK"}


def _token_key(digest: str) -> dict[str, str]:
    return {"PK": f"CHKTOKEN#{digest}", "SK": "CHKTOKEN"}


def to_item(scope: Scope, session: CheckoutSession) -> dict[str, Any]:
    return {
        **_key(scope, session.id),
        "entity": "checkout_session",
        "customer": session.customer,
        "pays": list(session.payments),
        "body": pack(SESSION.dump(session)),
    }


def from_item(item: Mapping[str, Any]) -> CheckoutSession:
    return SESSION.load(unpack(item["body"]), customer=item["customer"], payments=list(item.get("pays") or []))


class DynamoCheckoutSessionRepository:
    def create(self, scope: Scope, session: CheckoutSession) -> None:
        guard = {**_token_key(token_digest(session.token)), "entity": "checkout_token",
                 "tenant_id": scope.tenant_id, "livemode": scope.livemode, "session": session.id}  # fmt: skip
        taken = Conflict("A checkout session was created twice.", code="checkout_session_exists")
        table.transact(
            [
                table.put(to_item(scope, session), "attribute_not_exists(PK)"),
                table.put(guard, "attribute_not_exists(PK)"),
            ],
            {0: taken, 1: taken},
        )

    def get(self, scope: Scope, session_id: str) -> CheckoutSession | None:
        item = table.get(_key(scope, session_id))
        return from_item(item) if item else None

    def by_token(self, digest: str) -> tuple[Scope, CheckoutSession] | None:
        guard = table.get(_token_key(digest))
        if guard is None:
            return None
        scope = Scope(tenant_id=guard["tenant_id"], livemode=bool(guard["livemode"]))
        session = self.get(scope, guard["session"])
        return (scope, session) if session else None

    def attach(self, scope: Scope, session: CheckoutSession, payment: Payment) -> None:
        assert payment.provider_reference, "a provider's payment names its checkout"
        reference = {
            **payments.reference_key(scope, payment.provider, payment.provider_reference),
            "entity": "payment_reference",
            "payment": payment.id,
            "reference": payment.provider_reference,
        }
        append = {
            "Update": {
                "TableName": table.table_name(),
                "Key": table.encode(_key(scope, session.id)),
                "UpdateExpression": "SET pays = list_append(if_not_exists(pays, :none), :pay)",
                "ConditionExpression": "attribute_exists(PK)",
                "ExpressionAttributeValues": table.encode({":none": [], ":pay": [payment.id]}),
            }
        }  # fmt: skip
        attached = Conflict("The provider's checkout belongs to a payment already.", code="checkout_attached")
        operations = [payments.write(scope, payment), table.put(reference, "attribute_not_exists(PK)"), append]
        table.transact(operations, {1: attached})
