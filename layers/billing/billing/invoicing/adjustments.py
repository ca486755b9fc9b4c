"""The discounts and taxes an invoice of a subscription gets.

- A coupon discounts ``once`` the first invoice, ``repeating`` the next N invoices,
  ``forever`` every invoice, counting invoices of the subscription it took something off (an
  invoice with nothing to discount neither shows nor uses it, as Stripe does); one limited
  to some plans stops when the subscription moves to another plan.
- The customer's own discounts (benefits) apply to every invoice after the coupon, each on
  the charges of its supplier or on all.
- Taxes: none for tax-exempt customers; the customer's explicit rates if it has some;
  otherwise the active rates of its address (country, and region where the rate has one).
"""

from __future__ import annotations

from billing.catalog.lookups import CatalogLookups
from billing.catalog.tax_rates import AppliedTaxRate
from billing.customers import Customer
from billing.invoicing.compose import Discount
from billing.scope import Scope
from billing.subscriptions.model import Subscription


def discounts(
    catalog: CatalogLookups, scope: Scope, subscription: Subscription, customer: Customer
) -> tuple[list[Discount], Discount | None]:
    """The discounts of the subscription's next invoice, and which of them is its coupon (an
    invoice it takes nothing off does not count as one of its uses: ``biller.draft``)."""
    found: list[Discount] = []
    coupon = catalog.coupon(scope, subscription.coupon) if subscription.coupon else None
    if coupon and coupon.applies_to_plans and subscription.plan_code not in coupon.applies_to_plans:
        coupon = None  # the subscription moved to a plan the coupon is not for
    applied = None
    if coupon:
        limit = {"once": 1, "repeating": coupon.duration_in_periods, "forever": None}[coupon.duration]
        if limit is None or subscription.coupon_uses < limit:
            what = f"{coupon.percent_off}% off" if coupon.percent_off else "amount off"
            label = f"{coupon.name or coupon.code} ({what})"
            applied = Discount(coupon.code, label, coupon.percent_off, coupon.amount_off)
            found.append(applied)
    for benefit in customer.discounts:
        name, percent = benefit["name"], benefit["percent_off"]
        found.append(Discount(f"benefit:{name}", f"{name} ({percent}% off)", percent, None, benefit.get("supplier")))
    return found, applied


def tax_rates(catalog: CatalogLookups, scope: Scope, customer: Customer) -> list[AppliedTaxRate]:
    if customer.tax_exempt:
        return []
    if customer.tax_rates:
        rates = [rate for rate in (catalog.tax_rate(scope, i) for i in customer.tax_rates) if rate]
    else:
        address = customer.address or {}
        rates = [
            rate
            for rate in catalog.tax_rates(scope)
            if rate.country == address.get("country") and rate.region in (None, address.get("region"))
        ]
    return [rate.applied() for rate in rates if rate.active]
