"""The API function: one Chalice app routes every HTTP path of the platform.

``template.yaml`` deploys this module with ``Handler: app.app``; the API key
authorizer is the same module's ``app.api_key_authorizer``. Its environment is
checked at import (cold start), so a function deployed without a variable it
needs fails there, naming it.
"""

from chalicelib.environment import ApiFunctionSettings
from chalicelib.http import api_key_authorizer, app
from chalicelib.routes import (
    catalog,
    credit_notes,
    customers,
    health,
    invoices,
    settings,
    subscriptions,
    testclocks,
    usage,
)

environment = ApiFunctionSettings.load()

__all__ = [
    "api_key_authorizer",
    "app",
    "catalog",
    "credit_notes",
    "customers",
    "environment",
    "health",
    "invoices",
    "settings",
    "subscriptions",
    "testclocks",
    "usage",
]
