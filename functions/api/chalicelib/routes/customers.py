"""``/v1/customers``: thin views over ``CustomerService``. The views import the domain's models
when first called, as the services load (``billing.adapters.services``), not at cold start."""

from __future__ import annotations

from typing import Any

from billing.adapters.services import customers, notifications, saved_cards
from chalicelib.http import Call, route

LIST_QUERY = frozenset({"limit", "starting_after", "external_id", "email", "status"})
PAGE_QUERY = frozenset({"limit", "starting_after"})


@route("/v1/customers", methods=("POST",))
def create_customer(call: Call) -> tuple[int, dict[str, Any]]:
    from billing.customers import CustomerCreate

    return 201, customers().create(call.scope, call.body(CustomerCreate)).to_public()


@route("/v1/customers", query=LIST_QUERY)
def list_customers(call: Call) -> dict[str, Any]:
    from billing.customers import CustomerQuery

    return customers().list(call.scope, CustomerQuery.from_params(call.query)).to_public(lambda c: c.to_public())


@route("/v1/customers/{customer_id}")
def get_customer(call: Call) -> dict[str, Any]:
    return customers().get(call.scope, call.params["customer_id"]).to_public()


@route("/v1/customers/{customer_id}", methods=("PATCH",))
def update_customer(call: Call) -> dict[str, Any]:
    from billing.customers import CustomerUpdate

    return customers().update(call.scope, call.params["customer_id"], call.body(CustomerUpdate)).to_public()


@route("/v1/customers/{customer_id}", methods=("DELETE",))
def archive_customer(call: Call) -> dict[str, Any]:
    return customers().archive(call.scope, call.params["customer_id"]).to_public()


@route("/v1/customers/{customer_id}/payment_method", methods=("DELETE",))
def forget_payment_method(call: Call) -> dict[str, Any]:
    """Forget the customer's saved card: later invoices are no longer charged to it."""
    return saved_cards().forget(call.scope, call.params["customer_id"]).to_public()


@route("/v1/customers/{customer_id}/notifications", query=PAGE_QUERY)
def list_customer_notifications(call: Call) -> dict[str, Any]:
    """The customer's delivery log: what it was told, by which channel, newest event first."""
    from billing.notifications.model import PREFIX
    from billing.pagination import page_request

    page = notifications().of_customer(call.scope, call.params["customer_id"], page_request(call.query, PREFIX))
    return page.to_public(lambda notification: notification.to_public())
