"""``/v1/payments``: money received, allocated to invoices, refunded; a customer's balance. The views
import the domain's models when first called, as the services load
(``billing.adapters.services``)."""

from __future__ import annotations

from typing import Any

from billing.adapters.services import payments
from chalicelib.http import Call, route

LIST_QUERY = frozenset({"limit", "starting_after", "customer", "invoice", "status", "provider"})


@route("/v1/payments", methods=("POST",))
def create_payment(call: Call) -> tuple[int, dict[str, Any]]:
    from billing.payments.model import PaymentCreate

    return 201, payments().record(call.scope, call.body(PaymentCreate)).to_public()


@route("/v1/payments", query=LIST_QUERY)
def list_payments(call: Call) -> dict[str, Any]:
    from billing.payments.model import PaymentQuery

    listed = payments().list(call.scope, PaymentQuery.from_params(call.query))
    return listed.to_public(lambda payment: payment.to_public())


@route("/v1/payments/{payment_id}")
def get_payment(call: Call) -> dict[str, Any]:
    return payments().get(call.scope, call.params["payment_id"]).to_public()


@route("/v1/payments/{payment_id}/refund", methods=("POST",))
def refund_payment(call: Call) -> dict[str, Any]:
    from billing.payments.refunds import RefundCreate

    data = call.optional_body(RefundCreate)
    return payments().refund(call.scope, call.params["payment_id"], data, call.idempotency_key).to_public()


@route("/v1/customers/{customer_id}/balance")
def get_customer_balance(call: Call) -> dict[str, Any]:
    return payments().balance(call.scope, call.params["customer_id"]).to_public()
