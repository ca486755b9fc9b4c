"""Wiring: each core service with its DynamoDB adapters, built once per container (the API and
the functions share it).

The API, usage ingestion and authorizer functions deploy the same app, which imports every
route at cold start, and each serves only some routes. So what every request needs loads
with this module: the tenants (the authorizer authenticates every request, the hot paths
read tenant settings), idempotency, and with them the DynamoDB adapter (boto3) and pydantic.
Every other service is imported when first built: the authorizer never loads the catalog,
the usage function never loads invoicing.
"""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache, partial
from typing import TYPE_CHECKING

from billing.adapters.dynamodb.idempotency import DynamoIdempotencyStore
from billing.adapters.dynamodb.tenants import DynamoTenantRepository
from billing.cache import LOOKUP_TTL_S, TtlCache
from billing.idempotency import Idempotency
from billing.scope import Scope
from billing.settings import get_settings, required
from billing.tenant_settings import SettingsUpdate, TenantSettings
from billing.tenants import TenantService

if TYPE_CHECKING:
    from datetime import date

    from billing.adapters.kms import KmsCipher
    from billing.adapters.queues import SqsQueue
    from billing.adapters.webhook_queue import SqsDeliveryQueue
    from billing.browser_sessions import BrowserSessions
    from billing.catalog.lookups import CatalogLookups
    from billing.catalog.service import CatalogService
    from billing.collections.access import CustomerAccess
    from billing.collections.debt import Debt
    from billing.collections.dunning import Dunning
    from billing.collections.invoice_items import InvoiceItem
    from billing.collections.items import InvoiceItems
    from billing.collections.service import Debts, DunningPolicies
    from billing.customers import CustomerService
    from billing.customers.model import Customer
    from billing.events import EventBus
    from billing.invoicing.biller import SubscriptionBiller
    from billing.invoicing.credit_notes import CreditNotes
    from billing.invoicing.documents import InvoiceDocuments
    from billing.invoicing.model import Invoice
    from billing.invoicing.runs import InvoiceRuns
    from billing.invoicing.service import InvoiceService
    from billing.ledger_check import LedgerCheck
    from billing.notifications.ports import Branding
    from billing.notifications.service import Notifications, Notifier
    from billing.payments.accounts import ProviderAccounts
    from billing.payments.checkout import CheckoutSessions, Lookups
    from billing.payments.hosted import HostedCheckout
    from billing.payments.off_session import OffSessionCharges
    from billing.payments.provider_events import ProviderEventProcessor
    from billing.payments.saved_cards import SavedCards
    from billing.payments.service import Payments
    from billing.payments.webhooks import WebhookIntake
    from billing.portal.service import Portal
    from billing.prepaid.service import PrepaidCharging
    from billing.reports.aggregator import ReportsAggregator
    from billing.reports.rebuild import Rebuild
    from billing.reports.records import Records
    from billing.reports.service import Reports
    from billing.subscriptions.migrations import PlanMigrations
    from billing.subscriptions.service import SubscriptionService
    from billing.testclocks import Advance, TestClock, TestClocks
    from billing.usage.aggregator import UsageAggregator
    from billing.usage.dead_letters import DeadLetters
    from billing.usage.failed_batches import FailedBatches
    from billing.usage.ingest import UsageIngest
    from billing.usage.model import BilledPeriod, UsageEvent
    from billing.usage.readings import MeterReadings
    from billing.usage.schema import EventInput
    from billing.usage.service import UsageService
    from billing.usage.stamping import Directory
    from billing.webhooks_out.addresses import AddressPolicy
    from billing.webhooks_out.delivery import Deliverer
    from billing.webhooks_out.fanout import Fanout
    from billing.webhooks_out.model import WebhookEndpoint
    from billing.webhooks_out.service import WebhookEndpoints


@lru_cache(maxsize=1)
def tenants() -> TenantService:
    return TenantService(DynamoTenantRepository())


@lru_cache(maxsize=1)
def customers() -> CustomerService:
    from billing.adapters.dynamodb.customers import DynamoCustomerRepository
    from billing.adapters.dynamodb.testclocks import DynamoTestClockStore
    from billing.customers import CustomerService

    def tax_rate_exists(scope: Scope, tax_rate_id: str) -> bool:
        return catalog_lookups().tax_rate(scope, tax_rate_id) is not None

    def clock_exists(scope: Scope, clock_id: str) -> bool:
        return DynamoTestClockStore().get(scope, clock_id) is not None

    return CustomerService(DynamoCustomerRepository(), tax_rates=tax_rate_exists, test_clocks=clock_exists)


@lru_cache(maxsize=1)
def idempotency() -> Idempotency:
    return Idempotency(DynamoIdempotencyStore())


@lru_cache(maxsize=1)
def catalog() -> CatalogService:
    from billing.adapters.dynamodb.catalog import DynamoCatalogRepository
    from billing.catalog.service import CatalogService

    return CatalogService(DynamoCatalogRepository())


@lru_cache(maxsize=1)
def catalog_lookups() -> CatalogLookups:
    """What invoicing, subscriptions and usage read of the catalog: one cache per container."""
    from billing.adapters.dynamodb.catalog import DynamoCatalogRepository
    from billing.catalog.lookups import CatalogLookups

    return CatalogLookups(DynamoCatalogRepository())


@lru_cache(maxsize=1)
def subscriptions() -> SubscriptionService:
    from billing.adapters.dynamodb.customers import DynamoCustomerRepository
    from billing.adapters.dynamodb.subscriptions import DynamoSubscriptionRepository
    from billing.subscriptions.service import SubscriptionService

    return SubscriptionService(
        DynamoSubscriptionRepository(), DynamoCustomerRepository(), catalog_lookups(), times=test_clocks()
    )


@lru_cache(maxsize=1)
def migrations() -> PlanMigrations:
    from billing.adapters.dynamodb.outbox import DynamoEventRecorder
    from billing.adapters.migration_pages import SqsMigrationPages
    from billing.adapters.queues import SqsQueue
    from billing.subscriptions.migrations import PlanMigrations

    pages = SqsMigrationPages(SqsQueue("PLAN_MIGRATION_QUEUE_URL", lambda: get_settings().plan_migration_queue_url))
    return PlanMigrations(subscriptions(), catalog_lookups(), DynamoEventRecorder(), pages)


@lru_cache(maxsize=1)
def usage_directory() -> Directory:
    """Where ingestion and prepaid charging look customers, subscriptions and the catalog up
    (one cache for both)."""
    from billing.adapters.dynamodb.customers import DynamoCustomerRepository
    from billing.adapters.dynamodb.subscriptions import DynamoSubscriptionRepository
    from billing.usage.stamping import Directory

    def billed(scope: Scope, subscription_id: str) -> list[BilledPeriod]:
        """Read only for usage sent late (for a period already invoiced): invoicing loads then."""
        from billing.adapters.dynamodb.invoices import DynamoInvoiceRepository
        from billing.invoicing.model import billed_periods

        return billed_periods(DynamoInvoiceRepository().of_subscription(scope, subscription_id))

    return Directory(DynamoCustomerRepository(), DynamoSubscriptionRepository(), catalog_lookups(), billed)


@lru_cache(maxsize=1)
def usage_ingest() -> UsageIngest:
    from billing.adapters.dynamodb.usage_events import DynamoUsageEventStore
    from billing.usage.ingest import UsageIngest

    def grace(scope: Scope) -> timedelta:
        return settings_of(scope).grace

    return UsageIngest(DynamoUsageEventStore(), usage_directory(), grace, times=test_clocks(), charging=prepaid())


@lru_cache(maxsize=1)
def prepaid() -> PrepaidCharging:
    from billing.adapters.dynamodb.prepaid import DynamoPrepaidStore
    from billing.prepaid.service import PrepaidCharging

    def prepare(scope: Scope, event: EventInput) -> UsageEvent:
        return usage_ingest().prepare(scope, event)

    return PrepaidCharging(DynamoPrepaidStore(), usage_directory(), lambda scope: settings_of(scope).prepaid, prepare)


tenant_settings: TtlCache[TenantSettings] = TtlCache(LOOKUP_TTL_S)
"""Settings as the hot path reads them, per tenant and mode: a change is seen at once by the
container that made it (``update_settings``) and by the others within ``LOOKUP_TTL_S``."""


def update_settings(scope: Scope, changes: SettingsUpdate) -> TenantSettings:
    updated = tenants().update_settings(scope, changes)
    tenant_settings.get(scope.key, lambda: updated, fresh=True)
    return updated


@lru_cache(maxsize=1)
def usage() -> UsageService:
    from billing.adapters.dynamodb.customers import DynamoCustomerRepository
    from billing.adapters.dynamodb.usage_aggregates import DynamoAggregateStore
    from billing.adapters.dynamodb.usage_events import DynamoUsageEventStore
    from billing.usage.service import UsageService

    return UsageService(
        subscriptions(),
        DynamoCustomerRepository(),
        catalog_lookups(),
        DynamoAggregateStore(),
        DynamoUsageEventStore(),
        times=test_clocks(),
    )


@lru_cache(maxsize=1)
def usage_aggregator() -> UsageAggregator:
    from billing.adapters.dynamodb.usage_aggregates import DynamoAggregateStore
    from billing.usage.aggregator import UsageAggregator

    return UsageAggregator(DynamoAggregateStore())


@lru_cache(maxsize=1)
def usage_dead_letters() -> DeadLetters:
    from billing.adapters.dynamodb.usage_dead_letters import DynamoParkedStore
    from billing.adapters.dynamodb.usage_events import DynamoUsageEventStore
    from billing.usage.dead_letters import DeadLetters

    return DeadLetters(DynamoParkedStore(), DynamoUsageEventStore(), usage_aggregator())


@lru_cache(maxsize=1)
def failed_batches() -> FailedBatches:
    from billing.adapters.dynamodb.usage_stream import DynamoUsageStream
    from billing.adapters.usage_failed_batches import SqsFailedBatchQueue
    from billing.usage.failed_batches import FailedBatches

    queue = SqsFailedBatchQueue(lambda: get_settings().usage_dead_letter_queue_url)
    return FailedBatches(queue, DynamoUsageStream(), usage_aggregator())


@lru_cache(maxsize=1)
def meter_readings() -> MeterReadings:
    from billing.adapters.dynamodb.customers import DynamoCustomerRepository
    from billing.adapters.dynamodb.meter_readings import DynamoMeterReadingStore
    from billing.usage.readings import MeterReadings

    return MeterReadings(usage_ingest(), DynamoMeterReadingStore(), catalog_lookups(), DynamoCustomerRepository())


def settings_of(scope: Scope) -> TenantSettings:
    """The settings of a tenant's mode, as cached for the hot paths."""
    return tenant_settings.get(scope.key, lambda: tenants().settings(scope)) or TenantSettings()


@lru_cache(maxsize=1)
def biller() -> SubscriptionBiller:
    from billing.adapters.dynamodb.customers import DynamoCustomerRepository
    from billing.adapters.dynamodb.invoice_items import DynamoInvoiceItemStore
    from billing.adapters.dynamodb.invoices import DynamoInvoiceRepository
    from billing.adapters.dynamodb.subscriptions import DynamoSubscriptionRepository
    from billing.invoicing.biller import SubscriptionBiller
    from billing.invoicing.finalization import FinalizingStepWriter

    return SubscriptionBiller(
        DynamoSubscriptionRepository(),
        FinalizingStepWriter(DynamoInvoiceRepository(), settings_of),
        DynamoCustomerRepository(),
        catalog_lookups(),
        usage(),
        settings_of,
        times=test_clocks(),
        items=DynamoInvoiceItemStore(DynamoInvoiceRepository()),
    )


@lru_cache(maxsize=1)
def invoice_items() -> InvoiceItems:
    from billing.adapters.dynamodb.customers import DynamoCustomerRepository
    from billing.adapters.dynamodb.invoice_items import DynamoInvoiceItemStore
    from billing.adapters.dynamodb.invoices import DynamoInvoiceRepository
    from billing.catalog import suppliers
    from billing.collections.items import InvoiceItems

    def supplier_exists(scope: Scope, code: str) -> bool:
        return catalog().find(scope, suppliers.KIND.name, code) is not None

    store = DynamoInvoiceItemStore(DynamoInvoiceRepository())
    return InvoiceItems(
        store, DynamoCustomerRepository().get, catalog_lookups(), supplier_exists, settings_of, biller().now
    )


@lru_cache(maxsize=1)
def dunning_policies() -> DunningPolicies:
    from billing.adapters.dynamodb.dunning_policies import DynamoDunningPolicyStore
    from billing.collections.service import DunningPolicies

    return DunningPolicies(DynamoDunningPolicyStore())


@lru_cache(maxsize=1)
def debts() -> Debts:
    from billing.adapters.dynamodb.customers import DynamoCustomerRepository
    from billing.adapters.dynamodb.invoice_items import DynamoInvoiceItemStore
    from billing.adapters.dynamodb.invoices import DynamoInvoiceRepository
    from billing.collections.service import Debts

    invoices_repo = DynamoInvoiceRepository()
    items = DynamoInvoiceItemStore(invoices_repo)
    return Debts(
        DynamoCustomerRepository().get, invoices_repo.open_of, items.of_customer, dunning_policies().get, biller().now
    )


@lru_cache(maxsize=1)
def dunning() -> Dunning:
    from billing.adapters.dynamodb.customers import DynamoCustomerRepository
    from billing.adapters.dynamodb.dunning import DynamoDunningStore, DynamoOpenInvoices
    from billing.adapters.dynamodb.invoice_items import DynamoInvoiceItemStore
    from billing.adapters.dynamodb.invoices import DynamoInvoiceRepository
    from billing.collections.dunning import Collaborators, Dunning
    from billing.collections.notice_pdf import Debtor

    def notice(scope: Scope, invoice: Invoice, customer: Customer, debt: Debt, as_of: date) -> tuple[str, str | None]:
        debtor = Debtor(customer.name or customer.id, customer.email, customer.locale)
        key = documents().debt_notice(scope, invoice, debtor, debt, as_of)
        return key, documents().payment_url(invoice)

    invoices_repo = DynamoInvoiceRepository()
    with_ = Collaborators(
        policy=dunning_policies().get, customer_of=DynamoCustomerRepository().get, invoice_of=invoices_repo.get,
        item_of=DynamoInvoiceItemStore(invoices_repo).get, debt_of=debts().of,
        bill_at_once=invoice_items().billed_at_once, notice=notice,
    )  # fmt: skip
    return Dunning(DynamoDunningStore(invoices_repo), DynamoOpenInvoices(), with_)


def dunning_queue() -> SqsQueue:
    from billing.adapters.queues import SqsQueue

    return SqsQueue("DUNNING_QUEUE_URL", lambda: get_settings().dunning_queue_url)


@lru_cache(maxsize=1)
def customer_access() -> CustomerAccess:
    from billing.adapters.dynamodb.customers import DynamoCustomerRepository
    from billing.adapters.dynamodb.invoices import DynamoInvoiceRepository
    from billing.collections.access import CustomerAccess

    def prepaid_balance(scope: Scope, customer: Customer) -> int | None:
        balance = prepaid().balance(scope, customer)
        return balance.wallet.balance if balance else None

    repo = DynamoCustomerRepository()
    return CustomerAccess(repo, repo.get, DynamoInvoiceRepository().unsettled_of, biller().now, prepaid_balance)


@lru_cache(maxsize=1)
def invoices() -> InvoiceService:
    from billing.adapters.dynamodb.invoice_items import DynamoInvoiceItemStore
    from billing.adapters.dynamodb.invoices import DynamoInvoiceRepository
    from billing.adapters.dynamodb.subscriptions import DynamoSubscriptionRepository
    from billing.collections.invoice_items import penalties_of
    from billing.invoicing.service import InvoiceService

    repo = DynamoInvoiceRepository()
    items = DynamoInvoiceItemStore(repo)

    def penalties(scope: Scope, invoice: Invoice) -> list[InvoiceItem]:
        return penalties_of(items.of_customer(scope, invoice.customer), invoice.id)

    return InvoiceService(repo, biller(), DynamoSubscriptionRepository().get, settings_of, penalties)


@lru_cache(maxsize=1)
def invoice_runs() -> InvoiceRuns:
    from billing.adapters.dynamodb.due import DynamoDueIndex
    from billing.adapters.dynamodb.invoice_runs import DynamoRunStore
    from billing.adapters.queues import SqsQueue
    from billing.invoicing.runs import InvoiceRuns

    queue = SqsQueue("INVOICE_RUN_QUEUE_URL", lambda: get_settings().invoice_run_queue_url)
    return InvoiceRuns(DynamoRunStore(), DynamoDueIndex(), queue, biller(), invoices())


@lru_cache(maxsize=1)
def event_bus() -> EventBus:
    from billing.adapters.event_bus import EventBridgeBus

    return EventBridgeBus()


@lru_cache(maxsize=1)
def documents() -> InvoiceDocuments:
    from billing.adapters.documents import S3DocumentStore
    from billing.invoicing.documents import InvoiceDocuments

    def tenant_name(scope: Scope) -> str:
        return tenants().tenant(scope.tenant_id).name

    return InvoiceDocuments(S3DocumentStore(), settings_of, tenant_name, get_settings().public_base_url)


@lru_cache(maxsize=1)
def credit_notes() -> CreditNotes:
    from billing.adapters.dynamodb.credit_notes import DynamoCreditNoteRepository
    from billing.invoicing.credit_notes import CreditNotes

    return CreditNotes(DynamoCreditNoteRepository(), invoices().get, settings_of, biller().now, invoices().prorated)


@lru_cache(maxsize=1)
def payments() -> Payments:
    from billing.adapters.dynamodb import ledger
    from billing.adapters.dynamodb.customers import DynamoCustomerRepository
    from billing.adapters.dynamodb.invoices import DynamoInvoiceRepository
    from billing.adapters.dynamodb.payments import DynamoPaymentRepository
    from billing.customers.service import find_customer
    from billing.payments.service import Payments

    customer_of = partial(find_customer, DynamoCustomerRepository())
    return Payments(
        DynamoPaymentRepository(), DynamoInvoiceRepository(), customer_of, ledger.balances, biller().now,
        providers=provider_accounts(), settings=settings_of, cards=saved_cards(), credit_notes=credit_notes(),
        prepaid=prepaid().balance,
    )  # fmt: skip


@lru_cache(maxsize=1)
def saved_cards() -> SavedCards:
    from billing.adapters.dynamodb.customers import DynamoCustomerRepository
    from billing.payments.saved_cards import SavedCards

    return SavedCards(DynamoCustomerRepository(), biller().now)


@lru_cache(maxsize=1)
def off_session_charges() -> OffSessionCharges:
    from billing.adapters.dynamodb.customers import DynamoCustomerRepository
    from billing.adapters.dynamodb.invoices import DynamoInvoiceRepository
    from billing.adapters.dynamodb.payments import DynamoPaymentRepository
    from billing.customers.service import find_customer
    from billing.payments.off_session import OffSessionCharges

    customer_of = partial(find_customer, DynamoCustomerRepository())
    return OffSessionCharges(
        DynamoPaymentRepository(), DynamoInvoiceRepository(), customer_of, provider_accounts(), biller().now,
        payments().apply, settings_of,
    )  # fmt: skip


def _checkout_lookups() -> Lookups:
    from billing.adapters.dynamodb.customers import DynamoCustomerRepository
    from billing.adapters.dynamodb.invoices import DynamoInvoiceRepository
    from billing.adapters.dynamodb.payments import DynamoPaymentRepository
    from billing.customers.service import find_customer
    from billing.payments.checkout import Lookups

    invoice_of = DynamoInvoiceRepository().get
    return Lookups(partial(find_customer, DynamoCustomerRepository()), invoice_of, DynamoPaymentRepository().many)


@lru_cache(maxsize=1)
def checkout_sessions() -> CheckoutSessions:
    from billing.adapters.dynamodb.checkout_sessions import DynamoCheckoutSessionRepository
    from billing.payments.checkout import CheckoutSessions

    return CheckoutSessions(DynamoCheckoutSessionRepository(), _checkout_lookups(), get_settings().public_base_url)


@lru_cache(maxsize=1)
def hosted_checkout() -> HostedCheckout:
    from billing.adapters.dynamodb.checkout_sessions import DynamoCheckoutSessionRepository
    from billing.payments.hosted import HostedCheckout

    return HostedCheckout(
        DynamoCheckoutSessionRepository(), _checkout_lookups(), provider_accounts(), business_name,
        get_settings().public_base_url,
    )  # fmt: skip


def business_name(scope: Scope) -> str:
    """What pages and documents call the tenant: its business name, else its name."""
    return settings_of(scope).business_name or tenants().tenant(scope.tenant_id).name


@lru_cache(maxsize=1)
def browser_sessions() -> BrowserSessions:
    """Portal links and the sessions of the portal and the dashboard."""
    from billing.adapters.dynamodb.browser_sessions import DynamoBrowserSessionRepository
    from billing.adapters.dynamodb.customers import DynamoCustomerRepository
    from billing.browser_sessions import BrowserSessions
    from billing.customers.service import find_customer

    customer_of = partial(find_customer, DynamoCustomerRepository())
    return BrowserSessions(
        DynamoBrowserSessionRepository(), customer_of, tenants().key_of, tenants().key_active,
        get_settings().public_base_url,
    )  # fmt: skip


@lru_cache(maxsize=1)
def portal() -> Portal:
    """The customer portal's pages, over the services the API uses."""
    from billing.portal.service import Portal, Services

    return Portal(
        Services(
            customers=customers(), invoices=invoices(), payments=payments(), subscriptions=subscriptions(),
            usage=usage(), biller=biller(), catalog=catalog(), lookups=catalog_lookups(),
            checkout=checkout_sessions(), documents=documents(), readings=meter_readings(), settings=settings_of,
        )
    )  # fmt: skip


@lru_cache(maxsize=1)
def provider_accounts() -> ProviderAccounts:
    """One per container: it caches the accounts' endpoints and opened credentials."""
    from billing.adapters.dynamodb.provider_accounts import DynamoProviderAccountRepository
    from billing.adapters.kms import KmsCipher
    from billing.payments.accounts import ProviderAccounts

    return ProviderAccounts(DynamoProviderAccountRepository(), KmsCipher())


@lru_cache(maxsize=1)
def webhooks() -> WebhookIntake:
    from billing.adapters.dynamodb.provider_events import DynamoProviderEventStore
    from billing.adapters.provider_event_queue import SqsProviderEventQueue
    from billing.payments.webhooks import WebhookIntake

    accounts = provider_accounts()
    return WebhookIntake(accounts.endpoint, accounts.credentials, DynamoProviderEventStore(), SqsProviderEventQueue())


@lru_cache(maxsize=1)
def provider_events() -> ProviderEventProcessor:
    from billing.adapters.dynamodb.provider_events import DynamoProviderEventStore
    from billing.payments.provider_events import ProviderEventProcessor

    return ProviderEventProcessor(DynamoProviderEventStore(), payments())


@lru_cache(maxsize=1)
def ledger_check() -> LedgerCheck:
    from billing.adapters.dynamodb import ledger
    from billing.ledger_check import LedgerCheck

    return LedgerCheck(customers().list, ledger.stored_entries, ledger.balances)


@lru_cache(maxsize=1)
def test_clocks() -> TestClocks:
    from billing.adapters.dynamodb.testclocks import DynamoTestClockStore
    from billing.testclocks import TestClocks

    return TestClocks(DynamoTestClockStore())


def advance_test_clock(scope: Scope, clock_id: str, request: Advance) -> TestClock:
    from billing.adapters.dynamodb.testclocks import DynamoTestClockStore
    from billing.testclocks import Workers

    policy = dunning_policies().get(scope)

    def dun(scope: Scope, clock: str, day: date) -> None:
        dunning().run(scope, day, clock, policy=policy)

    workers = Workers(bill=biller().bill, finalize=invoices().finalize_if_due, dun=None if policy.empty else dun)
    return test_clocks().advance(scope, clock_id, request, DynamoTestClockStore(), workers)


def outbound_address_policy() -> AddressPolicy:
    """Where outbound webhooks may go: public addresses, and what the platform's configuration
    allows beside them for local development (``OUTBOUND_WEBHOOK_ALLOWED_NETWORKS``)."""
    from billing.webhooks_out.addresses import AddressPolicy

    return AddressPolicy.from_config(get_settings().outbound_webhook_allowed_networks)


def _webhook_cipher() -> KmsCipher:
    from billing.adapters.kms import KmsCipher

    return KmsCipher(lambda: get_settings().webhook_secrets_key, "WEBHOOK_SECRETS_KEY")


@lru_cache(maxsize=1)
def webhook_delivery_queue() -> SqsDeliveryQueue:
    """The outbound webhook deliveries' queue: the API (tests) and the fan-out send to it, the
    delivery function postpones a failed attempt's message on it."""
    from billing.adapters.webhook_queue import SqsDeliveryQueue

    return SqsDeliveryQueue()


@lru_cache(maxsize=1)
def webhook_endpoints() -> WebhookEndpoints:
    from billing.adapters.dynamodb.webhook_endpoints import DynamoDeliveryStore, DynamoWebhookEndpointRepository
    from billing.webhooks_out.service import WebhookEndpoints

    return WebhookEndpoints(DynamoWebhookEndpointRepository(), DynamoDeliveryStore(), webhook_delivery_queue(),
                            _webhook_cipher(), outbound_address_policy())  # fmt: skip


@lru_cache(maxsize=1)
def webhook_fanout() -> Fanout:
    """One per container: it caches each scope's endpoints for ``LOOKUP_TTL_S``."""
    from billing.adapters.dynamodb.webhook_endpoints import DynamoDeliveryStore, DynamoWebhookEndpointRepository
    from billing.webhooks_out.fanout import Fanout

    return Fanout(DynamoWebhookEndpointRepository(), DynamoDeliveryStore(), webhook_delivery_queue())


@lru_cache(maxsize=1)
def webhook_deliveries() -> Deliverer:
    """One per container: opened signing secrets are cached for ``LOOKUP_TTL_S``."""
    from billing.adapters.dynamodb.webhook_endpoints import DynamoDeliveryStore, DynamoWebhookEndpointRepository
    from billing.webhooks_out.delivery import Deliverer
    from billing.webhooks_out.ports import context
    from billing.webhooks_out.transport import SafeTransport

    cipher, secrets = _webhook_cipher(), TtlCache[str](LOOKUP_TTL_S)

    def secret_of(scope: Scope, endpoint: WebhookEndpoint) -> str:
        def load() -> str:
            return cipher.decrypt(endpoint.sealed, context(scope, endpoint.id)).decode()

        return secrets.get((scope.key, endpoint.id), load) or load()

    transport = SafeTransport(outbound_address_policy())
    return Deliverer(DynamoDeliveryStore(), DynamoWebhookEndpointRepository(), secret_of, transport)


def notification_branding(scope: Scope) -> Branding:
    """How a tenant's notifications present it: its business name (mail comes from the
    platform's ``NOTIFICATION_SENDER``), address, support email and SMS sender id."""
    from billing.notifications.ports import Branding

    settings = settings_of(scope)
    sender = required(get_settings().notification_sender, "NOTIFICATION_SENDER")
    return Branding(business_name(scope), sender, tuple(settings.business_address), settings.support_email,
                    settings.sms_sender_id)  # fmt: skip


@lru_cache(maxsize=1)
def notifier() -> Notifier:
    """Customers' notifications (``functions/notifications``): email through SES, SMS through SNS."""
    from billing.adapters.documents import S3DocumentStore
    from billing.adapters.dynamodb.customers import DynamoCustomerRepository
    from billing.adapters.dynamodb.notifications import DynamoNotificationLog, DynamoRateLimiter
    from billing.adapters.messaging import SesMailer, SnsTexter
    from billing.notifications.documents import Attachments
    from billing.notifications.kinds import Links
    from billing.notifications.service import Notifier

    attachments = Attachments(documents(), S3DocumentStore())
    return Notifier(DynamoNotificationLog(), DynamoRateLimiter(), SesMailer(), SnsTexter(),
                    DynamoCustomerRepository().get, notification_branding, attachments,
                    Links(get_settings().public_base_url))  # fmt: skip


@lru_cache(maxsize=1)
def notifications() -> Notifications:
    """A customer's delivery log (``GET /v1/customers/{id}/notifications``)."""
    from billing.adapters.dynamodb.customers import DynamoCustomerRepository
    from billing.adapters.dynamodb.notifications import DynamoNotificationLog
    from billing.notifications.service import Notifications

    return Notifications(DynamoNotificationLog(), DynamoCustomerRepository().get)


@lru_cache(maxsize=1)
def notification_queue() -> SqsQueue:
    """The notifier's queue: an event the tenant's allowance holds back is postponed on it."""
    from billing.adapters.queues import SqsQueue

    return SqsQueue("NOTIFICATION_QUEUE_URL", lambda: get_settings().notification_queue_url)


def report_records() -> Records:
    """Each source record's contribution to the reports (the aggregator, the rebuild, the bench)."""
    from billing.adapters.dynamodb.report_sources import DynamoReportSources
    from billing.reports.records import Records

    return Records(DynamoReportSources(), catalog_lookups())


@lru_cache(maxsize=1)
def reports() -> Reports:
    """The reports, read from their aggregates (the API's ``/v1/reports/...``, the dashboard)."""
    from billing.adapters.dynamodb.report_sources import DynamoReportSources
    from billing.adapters.dynamodb.reports import DynamoReportStore
    from billing.reports.service import Reports

    return Reports(DynamoReportStore(), DynamoReportSources().customers)


@lru_cache(maxsize=1)
def reports_aggregator() -> ReportsAggregator:
    """Domain events -> report aggregates (``functions/reports_aggregator``)."""
    from billing.adapters.dynamodb.reports import DynamoReportStore
    from billing.reports.aggregator import ReportsAggregator

    return ReportsAggregator(DynamoReportStore(), report_records())


@lru_cache(maxsize=1)
def reports_rebuild() -> Rebuild:
    """``billing reports rebuild``: a scope's aggregates again, from its records."""
    from billing.adapters.dynamodb.report_sources import DynamoReportSources
    from billing.adapters.dynamodb.reports import DynamoReportStore
    from billing.reports.rebuild import Rebuild

    return Rebuild(DynamoReportSources(), report_records(), DynamoReportStore())
