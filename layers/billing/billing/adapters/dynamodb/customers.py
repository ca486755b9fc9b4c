"""Customers in the billing table.

- customer:      ``PK={scope}#CUS#{id}``, ``SK=CUS``; GSI1 ``{scope}#CUS`` / id lists a
  scope's customers newest first, archived ones under ``{scope}#CUS#ARCHIVED`` so that
  lists never read past them; GSI2 ``{scope}#CUS#EMAIL#{email}`` / id finds them by email.
- a saved card: ``card`` (provider, its customer and payment method ids, brand, last four
  digits, when saved) and ``provider_customers`` (provider -> its customer id, kept when the
  card is forgotten, so a card saved again goes on the same provider customer).
- notification preferences: ``locale`` and ``channels``, each only when not the default
  (``en``; ``["email"]``): ``channels = []`` is a customer who opted out.
- external id:   ``PK={scope}#CUSEXT#{external_id}``, ``SK=CUSEXT`` -> customer id; written in
  the same transaction as the customer, its condition keeps external ids unique.

Items have their own shape (``to_item``/``from_item``), not ``Customer.to_public()``: renaming a
field of the API never rewrites what is stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from billing.adapters.dynamodb import outbox, table
from billing.customers.model import Customer, CustomerQuery, SavedCard, Suspension
from billing.errors import Conflict
from billing.events import DomainEvent
from billing.notifications.model import DEFAULT_CHANNELS, DEFAULT_LOCALE
from billing.pagination import Page
from billing.scope import Scope

_NEW = "attribute_not_exists(PK)"


def _key(scope: Scope, customer_id: str) -> dict[str, str]:
    return {"PK": f"{scope.key}#CUS#{customer_id}", "SK": "CUS"}


def _list_key(scope: Scope, archived: bool = False) -> str:
    return f"{scope.key}#CUS#ARCHIVED" if archived else f"{scope.key}#CUS"


def _email_key(scope: Scope, email: str) -> str:
    return f"{scope.key}#CUS#EMAIL#{email.lower()}"


def _external_key(scope: Scope, external_id: str) -> dict[str, str]:
    return {"PK": f"{scope.key}#CUSEXT#{external_id}", "SK": "CUSEXT"}


def to_item(scope: Scope, customer: Customer) -> dict[str, Any]:
    return {
        **_key(scope, customer.id),
        "GSI1PK": _list_key(scope, archived=customer.status == "archived"),
        "GSI1SK": customer.id,
        "GSI2PK": _email_key(scope, customer.email) if customer.email else None,
        "GSI2SK": customer.id if customer.email else None,
        "entity": "customer",
        "id": customer.id,
        "livemode": customer.livemode,
        "created_at": customer.created_at.isoformat(),
        "external_id": customer.external_id,
        "name": customer.name,
        "email": customer.email,
        "phone": customer.phone,
        "currency": customer.currency,
        "address": customer.address,
        "billing_mode": customer.billing_mode,
        "tags": list(customer.tags),
        "metadata": customer.metadata,
        "status": customer.status,
        "version": customer.version,
        "tax_exempt": customer.tax_exempt,
        "tax_rates": list(customer.tax_rates),
        "discounts": list(customer.discounts) or None,
        "test_clock": customer.test_clock,
        "card": _card_item(customer.default_payment_method),
        "provider_customers": customer.provider_customers or None,
        "suspension": _suspension_item(customer.suspension),
        "locale": customer.locale if customer.locale != DEFAULT_LOCALE else None,
        "channels": list(customer.notification_channels)
        if customer.notification_channels != DEFAULT_CHANNELS
        else None,
    }


def _suspension_item(suspension: Suspension | None) -> dict[str, str] | None:
    return {"reason": suspension.reason, "since": suspension.since.isoformat()} if suspension else None


def suspend(scope: Scope, customer: Customer, suspension: Suspension | None) -> dict[str, Any]:
    """The write that suspends a customer (``suspension``) or reinstates it (None), if it did
    not change since it was read: its version moves on, so a change made from an older read
    cannot undo it."""
    status = "suspended" if suspension else "active"
    update = {
        "TableName": table.table_name(),
        "Key": table.encode(_key(scope, customer.id)),
        "UpdateExpression": "SET #status = :status, version = :next"
        + (", suspension = :s" if suspension else "")
        + ("" if suspension else " REMOVE suspension"),
        "ConditionExpression": "version = :v AND #status <> :archived",
        "ExpressionAttributeNames": {"#status": "status"},
        "ExpressionAttributeValues": table.encode(
            {":status": status, ":next": customer.version + 1, ":v": customer.version, ":archived": "archived"}
            | ({":s": _suspension_item(suspension)} if suspension else {})
        ),
    }
    return {"Update": update}


def _card_item(card: SavedCard | None) -> dict[str, Any] | None:
    if card is None:
        return None
    return {
        "provider": card.provider,
        "customer": card.customer_reference,
        "method": card.payment_method,
        "brand": card.brand,
        "last4": card.last4,
        "saved_at": card.saved_at.isoformat() if card.saved_at else None,
    }


def _card(item: dict[str, Any] | None) -> SavedCard | None:
    if not item:
        return None
    saved_at = datetime.fromisoformat(item["saved_at"]) if item.get("saved_at") else None
    return SavedCard(item["provider"], item["customer"], item["method"], item.get("brand"), item.get("last4"), saved_at)


def from_item(item: dict[str, Any]) -> Customer:
    return Customer(
        id=item["id"],
        livemode=bool(item["livemode"]),
        created_at=datetime.fromisoformat(item["created_at"]),
        external_id=item.get("external_id"),
        name=item.get("name"),
        email=item.get("email"),
        phone=item.get("phone"),
        currency=item.get("currency"),
        address=item.get("address"),
        billing_mode=item["billing_mode"],
        tags=tuple(item.get("tags", [])),
        metadata=item.get("metadata", {}),
        status=item["status"],
        version=int(item["version"]),
        tax_exempt=bool(item.get("tax_exempt", False)),
        tax_rates=tuple(item.get("tax_rates", [])),
        discounts=tuple(item.get("discounts") or ()),
        test_clock=item.get("test_clock"),
        default_payment_method=_card(item.get("card")),
        provider_customers=dict(item.get("provider_customers") or {}),
        suspension=_suspension(item.get("suspension")),
        locale=item.get("locale", DEFAULT_LOCALE),
        notification_channels=tuple(item["channels"]) if "channels" in item else DEFAULT_CHANNELS,
    )


def _suspension(item: dict[str, str] | None) -> Suspension | None:
    return Suspension(item["reason"], datetime.fromisoformat(item["since"])) if item else None


def _external_taken(external_id: str) -> Conflict:
    return Conflict(
        f"A customer with external_id '{external_id}' already exists.", code="external_id_taken", param="external_id"
    )


def _external_guard(scope: Scope, customer: Customer) -> dict[str, Any]:
    assert customer.external_id is not None
    guard = {**_external_key(scope, customer.external_id), "entity": "customer_external_id", "customer_id": customer.id}
    return table.put(guard, _NEW)


def subscribable(scope: Scope, customer_id: str, currency: str, set_currency: bool) -> dict[str, Any]:
    """The transaction operation that checks a customer can take a subscription in ``currency``
    (still not archived, in that currency or none), giving it the currency if it had none."""
    condition = "#status <> :archived AND (attribute_not_exists(currency) OR currency = :c)"
    request: dict[str, Any] = {
        "TableName": table.table_name(),
        "Key": table.encode(_key(scope, customer_id)),
        "ConditionExpression": condition,
        "ExpressionAttributeNames": {"#status": "status"},
        "ExpressionAttributeValues": table.encode({":archived": "archived", ":c": currency}),
    }
    if not set_currency:
        return {"ConditionCheck": request}
    request["UpdateExpression"] = "SET currency = :c, version = version + :one"
    request["ExpressionAttributeValues"] = table.encode({":archived": "archived", ":c": currency, ":one": 1})
    return {"Update": request}


def takes_currency(scope: Scope, customer_id: str, currency: str) -> dict[str, Any]:
    """The transaction operation that gives a customer without a currency ``currency`` (its
    first payment's), unless it has another by now: customer credit is in the customer's one
    currency, so money in euros never pays an invoice in dollars."""
    return {
        "Update": {
            "TableName": table.table_name(),
            "Key": table.encode(_key(scope, customer_id)),
            "ConditionExpression": "attribute_not_exists(currency) OR currency = :c",
            "UpdateExpression": "SET currency = :c, version = version + :one",
            "ExpressionAttributeValues": table.encode({":c": currency, ":one": 1}),
        }
    }


class DynamoCustomerRepository:
    def create(self, scope: Scope, customer: Customer, event: DomainEvent) -> None:
        operations = [table.put(to_item(scope, customer), _NEW), *outbox.put_events([event])]
        conflicts = {}
        if customer.external_id:
            conflicts[len(operations)] = _external_taken(customer.external_id)
            operations.append(_external_guard(scope, customer))
        table.transact(operations, conflicts)

    def get(self, scope: Scope, customer_id: str) -> Customer | None:
        item = table.get(_key(scope, customer_id))
        return from_item(item) if item else None

    def find_by_external_id(self, scope: Scope, external_id: str) -> Customer | None:
        guard = table.get(_external_key(scope, external_id))
        return self.get(scope, guard["customer_id"]) if guard else None

    def set_suspension(
        self, scope: Scope, customer: Customer, suspension: Suspension | None, events: Sequence[DomainEvent]
    ) -> None:
        """Suspend or reinstate ``customer`` if its version is still the one read, with ``events``."""
        table.transact([suspend(scope, customer, suspension), *outbox.put_events(events)], {})

    def save(self, scope: Scope, customer: Customer, previous: Customer, event: DomainEvent) -> None:
        operations = [
            table.put(to_item(scope, customer), "version = :v"),
            *outbox.put_events([event]),
        ]
        operations[0]["Put"]["ExpressionAttributeValues"] = table.encode({":v": previous.version})
        conflicts: dict[int, Conflict] = {}
        if customer.external_id != previous.external_id:
            if previous.external_id:
                operations.append(
                    {
                        "Delete": {
                            "TableName": table.table_name(),
                            "Key": table.encode(_external_key(scope, previous.external_id)),
                        }
                    }
                )
            if customer.external_id:
                conflicts[len(operations)] = _external_taken(customer.external_id)
                operations.append(_external_guard(scope, customer))
        table.transact(operations, conflicts)

    def list(self, scope: Scope, query: CustomerQuery, limit: int, starting_after: str | None) -> Page[Customer]:
        if query.external_id is not None:
            found = self.find_by_external_id(scope, query.external_id)
            matches = [found] if found and _matches(found, query) else []
            return Page(data=matches, has_more=False)
        archived = query.status == "archived"
        filter_expr, values = None, None
        if query.email is not None:
            index, key_value = "GSI2", _email_key(scope, query.email)
            filter_expr = "#status = :status" if query.status else "#status <> :status"
            values = {":status": query.status or "archived"}
        else:
            index, key_value = "GSI1", _list_key(scope, archived)
            if query.status and not archived:
                filter_expr, values = "#status = :status", {":status": query.status}
        start = None
        if starting_after:
            start = {**_key(scope, starting_after), f"{index}PK": key_value, f"{index}SK": starting_after}
        names = {"#status": "status"} if filter_expr else None
        items, cursor = table.query_pages(index, f"{index}PK", key_value, start, limit, filter_expr, names, values)
        return Page.of((from_item(item) for item in items), cursor)


def _matches(customer: Customer, query: CustomerQuery) -> bool:
    if query.email is not None and (customer.email or "").lower() != query.email.lower():
        return False
    if query.status is not None:
        return customer.status == query.status
    return customer.status != "archived"
