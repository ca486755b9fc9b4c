"""Demo data for ``make run``: a tenant with a tariff, customers, subscriptions, usage, and
two months of invoices on a test clock (a credit note, a downgrade paid by customer credit, a
bank transfer that paid the open invoices and left customer credit, and a customer whose
invoices are left open, to be paid online), a dunning policy and two months of a customer who
never pays on a clock of its own (reminded, fined, charged interest, suspended, sent a final
notice), created on first start; its accounts with every
payment provider, each pointed at its local stand-in; and, at every start, a checkout link for
the oldest of those open invoices (README "Get paid").

The demo tenant's id is kept in an SSM parameter. Secrets are never stored,
so when the endpoint kept the tenant from an earlier run (LocalStack), a
fresh key is issued for it and printed.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import ClientError

from billing.adapters import services
from billing.catalog.service import create_request
from billing.clock import to_wire
from billing.customers import Customer, CustomerCreate, CustomerQuery
from billing.invoicing.credit_notes import CreditNoteCreate
from billing.invoicing.model import InvoiceQuery
from billing.payments.accounts import reveal
from billing.payments.checkout import CheckoutSessionCreate
from billing.payments.model import PaymentCreate
from billing.scope import Scope
from billing.settings import get_settings
from billing.subscriptions.model import ChangePlan, Subscription, SubscriptionCreate
from billing.tenant_settings import SettingsUpdate
from billing.testclocks import Advance, TestClock, TestClockCreate
from billing.usage import schema
from billing.usage.readings import ReadingInput

if TYPE_CHECKING:
    from infra.local.standins import StandIns

CUSTOMERS: list[dict[str, Any]] = [  # API request bodies, as a client sends them
    {
        "external_id": "acme-001",
        "name": "Acme Streaming Ltd",
        "email": "billing@acme.example",
        "currency": "USD",
        "address": {
            "country": "US",
            "region": "CA",
            "city": "San Francisco",
            "line1": "1 Market St",
            "postal_code": "94105",
        },
        "tags": ["enterprise"],
    },
    {
        "external_id": "household-17",
        "name": "Anna Schmidt",
        "email": "anna@example.de",
        "phone": "+4915112345678",
        "currency": "EUR",
        "address": {"country": "DE", "city": "Berlin", "line1": "Hauptstr. 17", "postal_code": "10115"},
        "billing_mode": "prepaid",
        "tags": ["household", "utilities"],
    },
    {
        "external_id": "tokyo-42",
        "name": "Sakura Telecom KK",
        "email": "ap@sakura.example",
        "currency": "JPY",
        "address": {"country": "JP", "city": "Tokyo"},
        "metadata": {"crm_id": "SF-00042"},
    },
]


CATALOG: list[tuple[str, dict[str, Any]]] = [
    ("meter", {"code": "api_calls", "name": "API calls", "aggregation": "count"}),
    ("meter", {"code": "call_minutes", "name": "Call minutes", "aggregation": "sum", "field": "seconds",
               "rounding": {"increment": 60, "minimum": 60}}),
    ("meter", {"code": "water_m3", "name": "Water", "aggregation": "sum", "field": "m3"}),
    ("supplier", {"code": "city-water", "name": "City Water Works",
                  "bank_details": {"iban": "DE89370400440532013000"}}),
    ("tax_rate", {"name": "VAT DE", "percent": "19", "inclusive": True, "country": "DE"}),
    ("tax_rate", {"name": "Sales tax CA", "percent": "7.25", "country": "US", "region": "CA"}),
    ("plan", {"code": "starter", "name": "Starter", "currency": "USD", "interval": "month", "base_fee": 1900}),
    ("plan", {"code": "pro", "name": "Pro", "currency": "USD", "interval": "month", "base_fee": 4900, "trial_days": 14,
              "charges": [{"meter": "api_calls", "model": "graduated", "tiers": [
                  {"up_to": 1000, "unit_amount": "0"}, {"up_to": 10000, "unit_amount": "0.2"},
                  {"up_to": None, "unit_amount": "0.1"}]},
                  {"meter": "call_minutes", "model": "per_unit", "unit_amount": "1.5", "free_units": 100}]}),
    ("plan", {"code": "household-water", "name": "Household water", "currency": "EUR", "interval": "month",
              "base_fee": 800, "charges": [{"meter": "water_m3", "model": "per_unit", "unit_amount": "215",
                                            "supplier": "city-water"}]}),
    ("plan", {"code": "telecom-jp", "name": "Telecom JP", "currency": "JPY", "interval": "month", "base_fee": 2980,
              "charges": [{"meter": "call_minutes", "model": "package", "package_size": 60, "unit_amount": "300"}]}),
    ("plan", {"code": "pro-annual", "name": "Pro annual", "currency": "USD", "interval": "year", "base_fee": 49000}),
    ("add_on", {"code": "priority-support", "name": "Priority support", "amount": 1500, "currency": "USD",
                "interval": "month"}),
    ("coupon", {"code": "WELCOME20", "percent_off": "20", "duration": "repeating", "duration_in_periods": 3}),
]  # fmt: skip

SUBSCRIPTIONS: dict[str, dict[str, Any]] = {
    "acme-001": {"plan": "pro", "coupon": "WELCOME20", "add_ons": [{"add_on": "priority-support"}]},
    "household-17": {"plan": "household-water"},
    "tokyo-42": {"plan": "telecom-jp"},
}


SETTINGS = {
    "business_name": "Demo Co GmbH",
    "business_address": ["Friedrichstr. 68", "10117 Berlin", "Germany"],
    "tax_id": "DE123456789",
    "support_email": "billing@demo.example",
    "invoice_prefix": "DEMO",
    "portal_plans": ["starter", "pro", "pro-annual"],  # what customers may change to in the portal
}

HISTORY_CUSTOMER = {
    "external_id": "clockwork-01",
    "name": "Ольга Петрова (лицевой счёт 1007)",
    "email": "olga@example.ru",
    "currency": "USD",
    "address": {"country": "US", "region": "CA", "city": "Los Angeles"},
}


DOWNGRADE_CUSTOMER = {
    "external_id": "vertex-9",
    "name": "Vertex Analytics",
    "email": "finance@vertex.example",
    "currency": "USD",
    "address": {"country": "US", "region": "NY", "city": "New York"},
}


PAYER_CUSTOMER: dict[str, Any] = {
    "external_id": "northwind-7",
    "name": "Northwind Café",
    "email": "accounts@northwind.example",
    "currency": "USD",
    "address": {"country": "US", "region": "NY", "city": "New York"},
}
"""On ``starter`` (USD 19.00 a month, no tax in NY) from the history's 20th day, so that it has
exactly two invoices whatever the months' lengths; both are left open for the newcomer to pay
on the hosted checkout, one by card, the other in crypto."""


DUNNING_POLICY: dict[str, Any] = {
    "steps": [
        {"days_after_due": -3, "action": "reminder"},
        {"days_after_due": 1, "action": "reminder"},
        {"days_after_due": 3, "action": "retry_payment"},
        {"days_after_due": 7, "action": "late_fee", "amount": 500},
        {"days_after_due": 14, "action": "suspend"},
        {"days_after_due": 21, "action": "final_notice"},
        {"days_after_due": 90, "action": "mark_uncollectible"},
    ],
    "penalty_interest": {"annual_rate": "12", "schedule": [{"from_day": 1, "fraction": "1/365"}]},
}
"""The demo tenant's dunning policy (test mode), set once the history is written."""

DEBTOR_CUSTOMER: dict[str, Any] = {
    "external_id": "greenfield-3",
    "name": "Greenfield Dairy",
    "email": "office@greenfield.example",
    "phone": "+15550100",
    "currency": "USD",
    "address": {"country": "US", "region": "NY", "city": "Albany"},
}
"""On ``starter`` for two months on a clock of its own, under the dunning policy, and never
paying: reminded, charged a late fee and interest, suspended, sent a final notice (README
"Collections")."""


@dataclass(frozen=True)
class Demo:
    tenant_id: str
    api_key: str
    created: bool


def seed(stack_name: str, settle: Callable[[], None] = lambda: None) -> Demo:
    """Create the demo tenant (once); ``settle`` lets the stream consumers catch up."""
    ssm = boto3.client("ssm")
    parameter = f"/{stack_name}/demo/tenant_id"
    tenants = services.tenants()
    try:
        tenant_id = ssm.get_parameter(Name=parameter)["Parameter"]["Value"]
    except ClientError:
        tenant_id = None
    if tenant_id:
        return Demo(tenant_id=tenant_id, api_key=tenants.create_key(tenant_id).secret, created=False)
    tenant, issued = tenants.create_tenant("Demo Co")
    scope = Scope(tenant.id, livemode=False)
    services.update_settings(scope, SettingsUpdate.model_validate(SETTINGS))
    for kind, body in CATALOG:
        services.catalog().create(scope, kind, create_request(kind, body))
    for body in CUSTOMERS:
        customer = services.customers().create(scope, CustomerCreate.model_validate(body))
        services.subscriptions().create(
            scope, SubscriptionCreate.model_validate({"customer": customer.id, **SUBSCRIPTIONS[body["external_id"]]})
        )
    _usage(scope)
    _history(scope, settle)
    _collections(scope)
    settle()  # the events so far reach their consumers, the reports aggregator among them
    services.reports_rebuild().run(scope)  # the reports whole at once; the aggregator keeps them from here
    ssm.put_parameter(Name=parameter, Value=tenant.id, Type="String", Overwrite=True)
    return Demo(tenant_id=tenant.id, api_key=issued.secret, created=True)


PREPAID_TOP_UP = {"customer": "household-17", "amount": 20000, "currency": "EUR", "channel": "bank_transfer",
                  "reference": "Top-up 0001"}  # fmt: skip
"""The prepaid household's top-up (EUR 200.00), before its readings: each is debited at once."""


def _usage(scope: Scope) -> None:
    """Some usage, so ``/usage`` shows totals at once: API calls and calls for Acme, a water
    meter baseline (two days ago) and one reading for the household (prepaid: topped up first)."""
    services.payments().record(scope, PaymentCreate.model_validate(PREPAID_TOP_UP))
    events: list[dict[str, Any]] = [
        {"transaction_id": f"demo-req-{n}", "customer": "acme-001", "code": "api_calls"} for n in range(1200)
    ]
    events += [{"transaction_id": f"demo-call-{n}", "customer": "tokyo-42", "code": "call_minutes",
                "properties": {"seconds": 30 + 45 * n}} for n in range(20)]  # fmt: skip
    for start in range(0, len(events), 1000):
        services.usage_ingest().ingest(scope, schema.read_all(events[start : start + 1000]))
    now = datetime.now(UTC)
    for reading_id, value, at in [("wm-0", "1480", now - timedelta(days=2)), ("wm-1", "1500", now)]:
        reading = ReadingInput.model_validate({"customer": "household-17", "meter": "water_m3", "reading": value,
                                               "timestamp": to_wire(at), "reading_id": reading_id})  # fmt: skip
        services.meter_readings().submit(scope, reading)


def _history(scope: Scope, settle: Callable[[], None]) -> None:
    """Two months of history on a test clock: a customer on ``pro`` (no trial) with API usage,
    its monthly invoices finalized and numbered (a PDF each), and a credit note; a customer
    who moved from ``pro-annual`` to ``pro`` after 20 days: the unused part of the year came
    back as customer credit, which pays its monthly invoices since; and a customer on
    ``starter`` from that day, whose two invoices nobody paid yet."""
    start, clock = _clock(scope, "Demo history")
    customer, _ = _subscribed(scope, clock.id, HISTORY_CUSTOMER, "pro")
    _, annual = _subscribed(scope, clock.id, DOWNGRADE_CUSTOMER, "pro-annual")
    payer = services.customers().create(
        scope, CustomerCreate.model_validate({**PAYER_CUSTOMER, "test_clock": clock.id})
    )
    for month, calls in enumerate((1500, 2600)):
        moment = start + timedelta(days=30 * month + 20)
        services.advance_test_clock(scope, clock.id, Advance.model_validate({"to": to_wire(moment)}))
        if month == 0:
            services.subscriptions().change_plan(
                scope, annual.id, ChangePlan.model_validate({"plan": "pro", "when": "now"})
            )
            services.subscriptions().create(
                scope, SubscriptionCreate.model_validate({"customer": payer.id, "plan": "starter"})
            )
        events = [{"transaction_id": f"demo-hist-{month}-{n}", "customer": customer.id, "code": "api_calls",
                   "timestamp": to_wire(moment - timedelta(minutes=n % 600))} for n in range(calls)]  # fmt: skip
        for first in range(0, len(events), 1000):
            services.usage_ingest().ingest(scope, schema.read_all(events[first : first + 1000]))
        settle()
    services.advance_test_clock(
        scope, clock.id, Advance.model_validate({"to": to_wire(start + timedelta(days=61, hours=2))})
    )
    invoices = services.invoices().list(scope, InvoiceQuery(customer=customer.id, status="open")).data
    if invoices:
        fee = invoices[-1].lines[0]
        note = {"invoice": invoices[-1].id, "reason": "order_change", "lines": [{"line": fee.id, "amount": 500}]}
        services.credit_notes().create(scope, CreditNoteCreate.model_validate(note))
    _bank_transfer(scope, customer.id)


def _collections(scope: Scope) -> None:
    """The dunning policy, then two months of a customer that never pays, on a clock of its
    own: advancing it runs dunning at each midnight."""
    from billing.collections.policy import DunningPolicyUpdate

    services.dunning_policies().replace(scope, DunningPolicyUpdate.model_validate(DUNNING_POLICY))
    start, clock = _clock(scope, "Demo collections")
    _subscribed(scope, clock.id, DEBTOR_CUSTOMER, "starter")
    services.advance_test_clock(
        scope, clock.id, Advance.model_validate({"to": to_wire(start + timedelta(days=61, hours=2))})
    )


def _clock(scope: Scope, name: str) -> tuple[datetime, TestClock]:
    """A test clock at midnight (UTC) 62 days ago, and that moment."""
    start = (datetime.now(UTC) - timedelta(days=62)).replace(hour=0, minute=0, second=0, microsecond=0)
    return start, services.test_clocks().create(
        scope, TestClockCreate.model_validate({"frozen_time": to_wire(start), "name": name})
    )


def _subscribed(scope: Scope, clock_id: str, body: dict[str, Any], plan: str) -> tuple[Customer, Subscription]:
    """A customer of ``body`` on the clock, subscribed to ``plan`` without a trial."""
    customer = services.customers().create(scope, CustomerCreate.model_validate({**body, "test_clock": clock_id}))
    subscription = services.subscriptions().create(
        scope, SubscriptionCreate.model_validate({"customer": customer.id, "plan": plan, "trial_days": 0})
    )
    return customer, subscription


def _bank_transfer(scope: Scope, customer_id: str) -> None:
    """The history customer paid by bank transfer (an offline payment): its open invoices,
    oldest first, and USD 25.00 more, kept as customer credit for its next invoice."""
    open_invoices = services.invoices().list(scope, InvoiceQuery(customer=customer_id, status="open")).data
    body = {"customer": customer_id, "amount": sum(i.amount_due for i in open_invoices) + 2500, "currency": "USD",
            "channel": "bank_transfer", "reference": "SEPA-DEMO-1007"}  # fmt: skip
    services.payments().record(scope, PaymentCreate.model_validate(body))


STANDIN_ACCOUNTS: dict[str, tuple[Callable[[], dict[str, str]], str, str]] = {
    "stripe": (lambda: {"api_key": f"sk_test_demo_{secrets.token_hex(16)}",
                        "webhook_secret": f"whsec_demo_{secrets.token_hex(16)}"}, "api_key", "webhook_secret"),
    "whitepay": (lambda: {"slug": f"demo-store-{secrets.token_hex(4)}", "token": f"wp_demo_{secrets.token_hex(16)}",
                          "webhook_token": f"wp_hook_{secrets.token_hex(16)}"}, "slug", "webhook_token"),
    "coinbase_commerce": (lambda: {"api_key": f"cc_demo_{secrets.token_hex(16)}",
                                   "webhook_secret": f"cc_hook_{secrets.token_hex(16)}"}, "api_key", "webhook_secret"),
}  # fmt: skip
"""Per provider: made-up credentials for its stand-in (which takes any), the credential its
stand-in files webhooks under, and the secret it signs them with (infra/local/standins)."""


def checkout_link(tenant_id: str) -> str | None:
    """A checkout link (``POST /v1/checkout_sessions``) for the oldest open invoice of the
    demo's payer, made at every start (a link lives 24 hours at most); None once they are all
    paid, or where the platform has no public URL to build links on."""
    scope = Scope(tenant_id, livemode=False)
    payers = services.customers().list(scope, CustomerQuery(external_id=PAYER_CUSTOMER["external_id"])).data
    if not payers:
        return None
    invoices = services.invoices().list(scope, InvoiceQuery(customer=payers[0].id, status="open")).data
    payable = [invoice for invoice in invoices if invoice.amount_due > 0]
    if not payable:
        return None
    sessions = services.checkout_sessions()
    session, _ = sessions.create(scope, CheckoutSessionCreate(invoice=payable[-1].id))  # lists are newest first
    return sessions.url(session)


def connect_providers(tenant_id: str, standins: StandIns) -> list[str]:
    """Give the demo tenant (test mode) an account with every provider, made up for the
    stand-ins, and register each account's ``webhook_url`` with its stand-in, as a tenant does in
    a provider's dashboard. Accounts are kept by the endpoint (on LocalStack, across restarts);
    stand-ins forget on stop, so the registration is made again at every start."""
    scope, accounts = Scope(tenant_id, livemode=False), services.provider_accounts()
    configured = {account.provider for account in accounts.list(scope)}
    for provider, (made_up, _, _) in STANDIN_ACCOUNTS.items():
        if provider not in configured:
            accounts.configure(scope, provider, made_up())
    for account in accounts.list(scope):
        credentials = accounts.credentials(scope, account.provider)
        if credentials is None or account.provider not in STANDIN_ACCOUNTS:
            continue  # disabled by the user: it gets no webhooks
        _, key, secret = STANDIN_ACCOUNTS[account.provider]
        opened = reveal(credentials)
        url = account.webhook_url(get_settings().public_base_url)
        standins.register_webhook(account.provider, opened[key], url, opened[secret])
    return sorted(accounts.enabled(scope))
