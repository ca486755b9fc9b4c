"""The API function: one Chalice app routes every HTTP path of the platform.

``template.yaml`` deploys this module with ``Handler: app.app``; the API key
authorizer is the same module's ``app.api_key_authorizer``. Its environment is
checked at import (cold start), so a function deployed without a variable it
needs fails there, naming it.

The AWS client factory (botocore, with urllib3) is imported first, before pydantic,
Powertools and Chalice: in that order the import takes about 13% less CPU time
(``bench/cold_start.py``), nearly all of it in Python's regex compiler, which
compiles the libraries' patterns about three times faster when botocore's and
urllib3's come first.
"""

from billing.adapters import aws  # noqa: F401 - first, see above
from chalicelib.environment import ApiFunctionSettings
from chalicelib.http import api_key_authorizer, app
from chalicelib.routes import (
    catalog,
    checkout_sessions,
    credit_notes,
    customers,
    dashboard,
    dunning,
    health,
    invoice_items,
    invoices,
    pages,
    payment_providers,
    payments,
    portal,
    portal_account,
    portal_sessions,
    reports,
    settings,
    subscriptions,
    testclocks,
    usage,
    webhook_endpoints,
    webhooks,
)

environment = ApiFunctionSettings.load()

__all__ = [
    "api_key_authorizer",
    "app",
    "catalog",
    "checkout_sessions",
    "credit_notes",
    "customers",
    "dashboard",
    "dunning",
    "environment",
    "health",
    "invoice_items",
    "invoices",
    "pages",
    "payment_providers",
    "payments",
    "portal",
    "portal_account",
    "portal_sessions",
    "reports",
    "settings",
    "subscriptions",
    "testclocks",
    "usage",
    "webhook_endpoints",
    "webhooks",
]
