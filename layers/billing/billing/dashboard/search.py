"""The dashboard's search box: one field that takes what a support person has at hand. An id
opens its object; an invoice number (``INV-...``-like: letters, digits and dashes, as the
tenant's numbering prints them) is not indexed, so anything that is not an id or an e-mail
address is looked up as the tenant's external id of a customer."""

from __future__ import annotations

from urllib.parse import urlencode

from billing.ids import is_id

PAGES = {"cus": "customers", "sub": "subscriptions", "inv": "invoices", "pay": "payments"}


def target(query: str) -> str:
    """The dashboard path that answers ``query``."""
    text = query.strip()
    prefix = text.split("_", 1)[0]
    if prefix in PAGES and is_id(text, prefix):
        return f"/dashboard/{PAGES[prefix]}/{text}"
    if not text:
        return "/dashboard/customers"
    field = "email" if "@" in text else "external_id"
    return "/dashboard/customers?" + urlencode({field: text})
