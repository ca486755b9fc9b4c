"""The portal's use cases for one customer in one scope (the session's): what each page shows
and what its forms do, through the same services and previews as the API.

Every id an address names is checked to be the session customer's (``_invoice``, ``_payment``):
an invoice or payment of another customer answers 404, like one that does not exist; one of
another tenant or mode is not found by the scoped services in the first place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from billing.errors import BillingError, NotFound
from billing.pagination import PageRequest
from billing.portal.forms import read
from billing.portal.model import AddOnShown, Estimate, Listed, Overview, PlanPreview, PlanView, SupplierDue
from billing.scope import Scope

if TYPE_CHECKING:
    from collections.abc import Callable

    from billing.catalog.lookups import CatalogLookups
    from billing.catalog.plans import Plan
    from billing.catalog.service import CatalogService
    from billing.customers import Customer, CustomerService
    from billing.invoicing.biller import SubscriptionBiller
    from billing.invoicing.documents import InvoiceDocuments
    from billing.invoicing.model import Invoice, Status
    from billing.invoicing.service import InvoiceService
    from billing.payments.checkout import CheckoutSessions
    from billing.payments.model import Payment
    from billing.payments.service import Payments
    from billing.subscriptions.model import ChangePlan, Subscription
    from billing.subscriptions.service import SubscriptionService
    from billing.tenant_settings import TenantSettings
    from billing.usage.readings import MeterReadings
    from billing.usage.service import UsageService

PAGE = 20  # invoices or payments per page
SHOWN = ("open", "paid", "void", "uncollectible")  # drafts change until finalized: not shown
PREFERENCES = frozenset({"locale", "notification_channels", "email", "phone", "channel_email", "channel_sms"})


@dataclass(frozen=True)
class Services:
    """The core services the portal reads and acts through (the API's own)."""

    customers: CustomerService
    invoices: InvoiceService
    payments: Payments
    subscriptions: SubscriptionService
    usage: UsageService
    biller: SubscriptionBiller
    catalog: CatalogService
    lookups: CatalogLookups
    checkout: CheckoutSessions
    documents: InvoiceDocuments
    readings: MeterReadings
    settings: Callable[[Scope], TenantSettings]


class Portal:
    def __init__(self, services: Services):
        self.services = services

    def customer(self, scope: Scope, customer_id: str) -> Customer:
        return self.services.customers.get(scope, customer_id)

    # ------------------------------------------------------------------ overview
    def overview(self, scope: Scope, customer_id: str) -> Overview:
        """What is due (and the oldest open invoice to pay), credit, balances per supplier,
        access, the next invoice's estimate."""
        customer = self.customer(scope, customer_id)
        balance = self.services.payments.balance(scope, customer.id)
        unpaid = [i for i in self._invoices(scope, customer.id, "open", None, 100).items if i.amount_due > 0]
        names = {s.supplier: self._supplier_name(scope, s.supplier) for s in balance.suppliers}
        suppliers = [SupplierDue(s.supplier, names[s.supplier], s.receivable) for s in balance.suppliers]
        return Overview(
            customer=customer, currency=customer.currency, amount_due=sum(i.amount_due for i in unpaid),
            pay_next=unpaid[-1] if unpaid else None, open_invoices=len(unpaid),
            customer_credit=balance.customer_credit,
            prepaid_balance=balance.prepaid.wallet.balance if balance.prepaid else None,
            suppliers=suppliers if any(s.code for s in suppliers) else [], access=customer.access,
            estimate=self.estimate(scope, customer),
        )  # fmt: skip

    def subscription(self, scope: Scope, customer: Customer) -> Subscription | None:
        """The customer's running subscription; None with none (or several: the portal shows
        no plan then, and the tenant's API deals with them)."""
        try:
            return self.services.usage.running_subscription(scope, customer, None)
        except BillingError:
            return None

    def estimate(self, scope: Scope, customer: Customer) -> Estimate | None:
        from billing.invoicing import previews

        subscription = self.subscription(scope, customer)
        if subscription is None:
            return None
        try:
            return Estimate(subscription, previews.upcoming(self.services.biller, scope, subscription))
        except BillingError:
            return None

    # ------------------------------------------------------------------ invoices, payments
    def invoices(self, scope: Scope, customer_id: str, after: str | None) -> Listed[Invoice]:
        return self._invoices(scope, customer_id, None, after, PAGE)

    def invoice(self, scope: Scope, customer_id: str, invoice_id: str) -> Invoice:
        """The customer's finalized invoice ``invoice_id``; 404 for anyone else's, or a draft."""
        try:
            invoice = self.services.invoices.get(scope, invoice_id)
        except NotFound:
            invoice = None
        if invoice is None or invoice.customer != customer_id or invoice.status not in SHOWN:
            raise NotFound(f"No such invoice: '{invoice_id}'", param="invoice")
        return invoice

    def invoice_pdf(self, scope: Scope, customer_id: str, invoice_id: str) -> tuple[bytes, str]:
        invoice = self.invoice(scope, customer_id, invoice_id)
        return self.services.documents.invoice_pdf(scope, invoice), f"{invoice.number or invoice.id}.pdf"

    def pay(self, scope: Scope, customer_id: str, invoice_id: str) -> str:
        """A hosted checkout link for the customer's invoice (a new session each time: a link
        lives a day at most); refused as the API refuses (409 for a paid invoice)."""
        from billing.payments.checkout import CheckoutSessionCreate

        invoice = self.invoice(scope, customer_id, invoice_id)
        checkout = self.services.checkout
        session, _ = checkout.create(scope, CheckoutSessionCreate(invoice=invoice.id))
        return checkout.url(session) or f"/pay/{session.token}"

    def payments(self, scope: Scope, customer_id: str, after: str | None) -> Listed[Payment]:
        from billing.payments.model import PaymentQuery

        self._cursor(after, "pay")
        listed = self.services.payments.list(scope, PaymentQuery(customer=customer_id, page=PageRequest(PAGE, after)))
        return Listed(listed.data, listed.next_starting_after if listed.has_more else None)

    def _invoices(
        self, scope: Scope, customer_id: str, status: Status | None, after: str | None, limit: int
    ) -> Listed[Invoice]:
        from billing.invoicing.model import InvoiceQuery

        self._cursor(after, "inv")
        query = InvoiceQuery(customer=customer_id, status=status, page=PageRequest(limit, after))
        listed = self.services.invoices.list(scope, query)
        shown = [invoice for invoice in listed.data if invoice.status in SHOWN]
        return Listed(shown, listed.next_starting_after if listed.has_more else None)

    @staticmethod
    def _cursor(after: str | None, prefix: str) -> None:
        from billing.pagination import page_request

        if after is not None:
            page_request({"starting_after": after}, prefix)  # a 400 for a cursor of another shape

    def _supplier_name(self, scope: Scope, code: str | None) -> str:
        from billing.catalog import suppliers

        found = self.services.catalog.find(scope, suppliers.KIND.name, code) if code else None
        return getattr(found, "name", None) or code or ""

    # ------------------------------------------------------------------ preferences
    def update_preferences(self, scope: Scope, customer_id: str, form: dict[str, str]) -> Customer:
        """Language, notification channels and contact details, changed as ``PATCH
        /v1/customers/{id}`` changes them (``CustomerUpdate``); a blank email or phone clears it.
        ``forms.Refused`` by field when refused."""
        from billing.customers import CustomerUpdate

        typed = {name: form.get(name, "") for name in PREFERENCES}
        body = {
            "locale": form.get("locale", ""),
            "notification_channels": [channel for channel in ("email", "sms") if form.get(f"channel_{channel}")],
            "email": form.get("email", "").strip() or None,
            "phone": form.get("phone", "").strip() or None,
        }
        update = self.services.customers.update
        return read(CustomerUpdate, body, typed, PREFERENCES, lambda changes: update(scope, customer_id, changes))

    # ------------------------------------------------------------------ plan
    def plan(self, scope: Scope, customer_id: str) -> PlanView:
        """The running subscription, its plan and add-ons, and the plans it may change to: those
        of the tenant's current plans in the subscription's currency that its ``portal_plans``
        setting opens to customers (none by default)."""
        from billing.catalog import plans
        from billing.catalog.service import CatalogQuery

        subscription = self.subscription(scope, self.customer(scope, customer_id))
        if subscription is None:
            return PlanView(None, None, [], [])
        lookups = self.services.lookups
        current = lookups.plan(scope, subscription.plan)
        listed = self.services.catalog.list(scope, plans.KIND.name, CatalogQuery(page=PageRequest(100)))
        opened = set(self.services.settings(scope).portal_plans)
        choices = [
            plan for plan in listed.data
            if isinstance(plan, plans.Plan) and plan.status == "active" and plan.currency == subscription.currency
            and plan.code != current.code and plan.code in opened
        ]  # fmt: skip
        add_ons = [AddOnShown(lookups.find_add_on(scope, a.add_on), a.add_on, a.quantity) for a in subscription.add_ons]
        return PlanView(subscription, current, add_ons, sorted(choices, key=lambda plan: (plan.base_fee, plan.code)))

    def preview_change(self, scope: Scope, customer_id: str, plan_code: str) -> PlanPreview:
        """What changing to ``plan_code`` now bills, computed as the change would bill it and
        not stored (``previews.plan_change``); refused as the API refuses the change."""
        from billing.invoicing import previews

        subscription, target = self._chosen(self.plan(scope, customer_id), plan_code)
        change = self._change_request(target)
        invoice = previews.plan_change(self.services.biller, self.services.subscriptions, scope, subscription, change)
        return PlanPreview(subscription, self.services.lookups.plan(scope, subscription.plan), target, invoice)

    def change_plan(self, scope: Scope, customer_id: str, plan_code: str) -> Subscription:
        """Change to ``plan_code`` now. A form for a change already made (another tab's preview,
        confirmed after the first) finds it made and changes nothing; the same form posted twice
        is answered once by the page (``browser.once``)."""
        view = self.plan(scope, customer_id)
        if view.subscription is not None and view.subscription.plan_code == plan_code:
            return view.subscription
        subscription, target = self._chosen(view, plan_code)
        return self.services.subscriptions.change_plan(scope, subscription.id, self._change_request(target))

    @staticmethod
    def _chosen(view: PlanView, plan_code: str) -> tuple[Subscription, Plan]:
        """The running subscription and the plan it may change to; 404 naming ``plan`` otherwise."""
        target = next((plan for plan in view.choices if plan.code == plan_code), None)
        if view.subscription is None or target is None:
            raise NotFound(f"No such plan to change to: '{plan_code}'", param="plan")
        return view.subscription, target

    @staticmethod
    def _change_request(target: Plan) -> ChangePlan:
        from billing.subscriptions.model import ChangePlan

        return ChangePlan(plan=target.id, when="now")
