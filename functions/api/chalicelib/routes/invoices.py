"""``/v1/invoices``, ``/v1/invoice_runs``, previews, the ledger: thin views over the invoicing
services. The domain modules they call load on first use, as the services do
(``billing.adapters.services``), not with the app at cold start."""

from __future__ import annotations

from typing import Any

from billing.adapters.services import biller, documents, invoice_runs, invoices, subscriptions, usage
from billing.errors import NotAcceptable
from billing.validation import NoBody
from chalicelib.http import Call, Document, route

LIST_QUERY = frozenset({"limit", "starting_after", "customer", "subscription", "status", "from", "to"})
JSON = dict[str, Any]


@route("/v1/invoices", query=LIST_QUERY)
def list_invoices(call: Call) -> JSON:
    from billing.invoicing.model import InvoiceQuery

    return invoices().list(call.scope, InvoiceQuery.from_params(call.query)).to_public(lambda i: i.to_public())


@route("/v1/invoices/{invoice_id}")
def get_invoice(call: Call) -> JSON:
    return invoices().get(call.scope, call.params["invoice_id"]).to_public()


@route("/v1/invoices/{invoice_id}/pdf")
def invoice_pdf(call: Call) -> Document:
    if call.accept and not any(kind in call.accept for kind in ("application/pdf", "*/*", "application/*")):
        raise NotAcceptable("This resource is a PDF: ask with 'Accept: application/pdf'.", param="Accept")
    invoice = invoices().get(call.scope, call.params["invoice_id"])
    content = documents().invoice_pdf(call.scope, invoice)
    return Document(content, "application/pdf", f"{invoice.number or invoice.id}.pdf")


@route("/v1/invoices/{invoice_id}/finalize", methods=("POST",))
def finalize_invoice(call: Call) -> JSON:
    call.optional_body(NoBody)
    return invoices().finalize(call.scope, call.params["invoice_id"]).to_public()


@route("/v1/invoices/{invoice_id}/void", methods=("POST",))
def void_invoice(call: Call) -> JSON:
    call.optional_body(NoBody)
    return invoices().void(call.scope, call.params["invoice_id"]).to_public()


@route("/v1/customers/{customer_id}/upcoming_invoice", query=frozenset({"subscription"}))
def upcoming_invoice(call: Call) -> JSON:
    from billing.invoicing import previews

    customer = usage().customer(call.scope, call.params["customer_id"], "customer_id")
    subscription = usage().running_subscription(call.scope, customer, call.query.get("subscription"))
    return previews.upcoming(biller(), call.scope, subscription).to_public()


@route("/v1/subscriptions/{subscription_id}/change_preview", query=frozenset({"plan"}))
def change_preview(call: Call) -> JSON:
    from billing.invoicing import previews

    subscription = subscriptions().get(call.scope, call.params["subscription_id"])
    change = previews.change_request(call.query)
    return previews.plan_change(biller(), subscriptions(), call.scope, subscription, change).to_public()


@route("/v1/invoice_runs", methods=("POST",))
def start_invoice_run(call: Call) -> tuple[int, JSON]:
    from billing.invoicing.runs import RunRequest

    return 202, invoice_runs().start(call.scope, call.optional_body(RunRequest)).to_public()


@route("/v1/invoice_runs/{run_id}")
def get_invoice_run(call: Call) -> JSON:
    return invoice_runs().get(call.scope, call.params["run_id"]).to_public()


@route("/v1/customers/{customer_id}/ledger")
def customer_ledger(call: Call) -> JSON:
    from billing import ledger

    customer = usage().customer(call.scope, call.params["customer_id"], "customer_id")
    return ledger.statement(customer.id, invoices().journal(call.scope, customer.id))
