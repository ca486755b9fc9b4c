"""What rating reads from the catalog, cached per container for ``LOOKUP_TTL_S``.

A run reads each plan, add-on, meter and the tenant's tax rates once; a change reaches
invoices drafted a few seconds later. Plan versions' prices never change, only names may lag.
"""

from __future__ import annotations

from typing import Any

from billing.cache import LOOKUP_TTL_S, TtlCache
from billing.catalog.add_ons import AddOn
from billing.catalog.coupons import Coupon
from billing.catalog.meters import Meter
from billing.catalog.plans import Plan
from billing.catalog.service import CatalogQuery, CatalogService
from billing.catalog.tax_rates import TaxRate
from billing.errors import NotFound
from billing.pagination import PageRequest
from billing.scope import Scope


class CatalogLookups:
    def __init__(self, catalog: CatalogService):
        self.catalog = catalog
        self._cache: TtlCache[Any] = TtlCache(LOOKUP_TTL_S)

    def plan(self, scope: Scope, plan_id: str) -> Plan:
        plan = self._cache.get((scope, "plan", plan_id), lambda: self.catalog.get(scope, "plan", plan_id))
        assert isinstance(plan, Plan)
        return plan

    def add_on(self, scope: Scope, code: str) -> AddOn:
        add_on = self._cache.get((scope, "add_on", code), lambda: self.catalog.find(scope, "add_on", code))
        if not isinstance(add_on, AddOn):
            raise NotFound(f"No such add-on: '{code}'", param="add_on")
        return add_on

    def meter_name(self, scope: Scope, code: str) -> str:
        meter = self._cache.get((scope, "meter", code), lambda: self.catalog.find(scope, "meter", code))
        return meter.name if isinstance(meter, Meter) else code

    def coupon(self, scope: Scope, code: str) -> Coupon | None:
        """Read fresh: redemptions and expiry matter."""
        coupon = self.catalog.find(scope, "coupon", code)
        return coupon if isinstance(coupon, Coupon) else None

    def tax_rate(self, scope: Scope, tax_rate_id: str) -> TaxRate | None:
        rate = self.catalog.find_by_id(scope, "tax_rate", tax_rate_id)
        return rate if isinstance(rate, TaxRate) else None

    def tax_rates(self, scope: Scope) -> list[TaxRate]:
        """Every tax rate of the scope."""
        return self._cache.get((scope, "tax_rates"), lambda: self._all_tax_rates(scope)) or []

    def _all_tax_rates(self, scope: Scope) -> list[TaxRate]:
        found: list[TaxRate] = []
        after: str | None = None
        while True:
            page = self.catalog.list(scope, "tax_rate", CatalogQuery(page=PageRequest(100, after)))
            found += [rate for rate in page.data if isinstance(rate, TaxRate)]
            if not page.has_more or not page.data:
                return found
            after = page.data[-1].id
