"""``/v1/invoices``, ``/v1/invoice_runs``, previews, the ledger: thin views over the invoicing
services. The domain modules they call load on first use, as the services do
(``billing.adapters.services``), not with the app at cold start."""

from __future__ import annotations

from typing import Any

from billing.adapters.services import biller, documents, invoice_runs, invoices, subscriptions, usage
from billing.errors import NotAcceptable
from chalicelib.http import Call, Document, route

ITEM = "/v1/invoices/{invoice_id}"
LIST_QUERY = frozenset({"limit", "starting_after", "customer", "subscription", "status", "from", "to"})


@route("/v1/invoices", query=LIST_QUERY)
def list_invoices(call: Call) -> dict[str, Any]:
    return invoices().list(call.scope, call.query).to_public(lambda invoice: invoice.to_public())


@route(ITEM)
def get_invoice(call: Call) -> dict[str, Any]:
    return invoices().get(call.scope, call.params["invoice_id"]).to_public()


@route(f"{ITEM}/pdf")
def invoice_pdf(call: Call) -> Document:
    if call.accept and not any(kind in call.accept for kind in ("application/pdf", "*/*", "application/*")):
        raise NotAcceptable("This resource is a PDF: ask with 'Accept: application/pdf'.", param="Accept")
    invoice = invoices().get(call.scope, call.params["invoice_id"])
    content = documents().invoice_pdf(call.scope, invoice)
    return Document(content, "application/pdf", f"{invoice.number or invoice.id}.pdf")


@route(f"{ITEM}/finalize", methods=("POST",))
def finalize_invoice(call: Call) -> dict[str, Any]:
    return invoices().finalize(call.scope, call.params["invoice_id"], call.json()).to_public()


@route(f"{ITEM}/void", methods=("POST",))
def void_invoice(call: Call) -> dict[str, Any]:
    return invoices().void(call.scope, call.params["invoice_id"], call.json()).to_public()


@route("/v1/customers/{customer_id}/upcoming_invoice", query=frozenset({"subscription"}))
def upcoming_invoice(call: Call) -> dict[str, Any]:
    from billing.invoicing import previews

    customer = usage().customer(call.scope, call.params["customer_id"], "customer_id")
    subscription = usage().running_subscription(call.scope, customer, call.query.get("subscription"))
    return previews.upcoming(biller(), call.scope, subscription).to_public()


@route("/v1/subscriptions/{subscription_id}/change_preview", query=frozenset({"plan"}))
def change_preview(call: Call) -> dict[str, Any]:
    from billing.invoicing import previews

    subscription = subscriptions().get(call.scope, call.params["subscription_id"])
    change = previews.change_request(call.query)
    return previews.plan_change(biller(), subscriptions(), call.scope, subscription, change).to_public()


@route("/v1/invoice_runs", methods=("POST",))
def start_invoice_run(call: Call) -> tuple[int, dict[str, Any]]:
    return 202, invoice_runs().start(call.scope, call.json()).to_public()


@route("/v1/invoice_runs/{run_id}")
def get_invoice_run(call: Call) -> dict[str, Any]:
    return invoice_runs().get(call.scope, call.params["run_id"]).to_public()


@route("/v1/customers/{customer_id}/ledger")
def customer_ledger(call: Call) -> dict[str, Any]:
    from billing import ledger

    customer = usage().customer(call.scope, call.params["customer_id"], "customer_id")
    return ledger.statement(customer.id, invoices().journal(call.scope, customer.id))
