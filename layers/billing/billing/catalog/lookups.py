"""The catalog as the rest of billing reads it: typed lookups behind one cache.

Invoicing, subscriptions and usage stamping read plans, add-ons, meters, coupons and tax
rates through one ``CatalogLookups`` per container (``billing.adapters.services``), so an
object one of them read is there for the others. Cached for ``ttl_s``, because what billing
reads of them never changes:

- a plan version by id: its prices, interval and currency never change (a new price is a new
  version); only its name and status may lag (``fresh=True`` reads it now);
- an add-on or a meter by code: their prices and rules never change, only names may lag;
- the scope's tax rates (the automatic ones, by address): a new or deactivated rate counts
  within ``ttl_s``.

Read fresh every time: a plan a request names (by code: the current version; a superseded
one is refused), coupons (redemptions and expiry count at once) and a tax rate by id. Only
found objects are cached: a miss is asked again, so what was created a moment ago is found.
"""

from __future__ import annotations

from collections.abc import Callable

from billing.cache import LOOKUP_TTL_S, TtlCache
from billing.catalog import add_ons, coupons, meters, plans, tax_rates
from billing.catalog.add_ons import AddOn
from billing.catalog.coupons import Coupon
from billing.catalog.meters import Meter
from billing.catalog.plans import Plan
from billing.catalog.repository import CatalogRepository
from billing.catalog.resource import Entity, Kind
from billing.catalog.tax_rates import TaxRate
from billing.errors import NotFound
from billing.ids import is_id
from billing.scope import Scope


class CatalogLookups:
    def __init__(self, repo: CatalogRepository, ttl_s: float = LOOKUP_TTL_S):
        self._repo = repo
        self._cache: TtlCache[object] = TtlCache(ttl_s)

    def plan(self, scope: Scope, plan_id: str, fresh: bool = False) -> Plan:
        """A plan version something refers to (a subscription, a migration): catalog objects
        are never deleted, so none is found only for a wrong id (``NotFound``)."""
        plan = self._cached(plans.KIND, scope, plan_id, lambda: self._by_id(plans.KIND, scope, plan_id), fresh)
        if plan is None:
            raise NotFound(f"No such plan: '{plan_id}'", param="id")
        return plan

    def find_plan(self, scope: Scope, ref: str) -> Plan | None:
        """The plan a request names: by id (``plan_...``) that version, by code the current one."""
        if is_id(ref, plans.KIND.id_prefix):
            return self._by_id(plans.KIND, scope, ref)
        return self._repo.by_code(scope, plans.KIND, ref)

    def add_on(self, scope: Scope, code: str) -> AddOn:
        """An add-on a subscription carries (it exists: catalog objects are never deleted)."""
        found = self.find_add_on(scope, code)
        if found is None:
            raise NotFound(f"No such add-on: '{code}'", param="add_on")
        return found

    def find_add_on(self, scope: Scope, code: str) -> AddOn | None:
        return self._cached(add_ons.KIND, scope, code, lambda: self._repo.by_code(scope, add_ons.KIND, code))

    def meter(self, scope: Scope, code: str) -> Meter | None:
        return self._cached(meters.KIND, scope, code, lambda: self._repo.by_code(scope, meters.KIND, code))

    def coupon(self, scope: Scope, code: str) -> Coupon | None:
        return self._repo.by_code(scope, coupons.KIND, code)

    def tax_rate(self, scope: Scope, tax_rate_id: str) -> TaxRate | None:
        return self._by_id(tax_rates.KIND, scope, tax_rate_id)

    def tax_rates(self, scope: Scope) -> list[TaxRate]:
        """Every tax rate of the scope, active or not."""
        found = self._cache.get(("tax_rates", scope), lambda: tuple(self._all(tax_rates.KIND, scope)))
        return [rate for rate in found if isinstance(rate, TaxRate)] if isinstance(found, tuple) else []

    def _cached[E: Entity](
        self, kind: Kind[E], scope: Scope, ref: str, load: Callable[[], E | None], fresh: bool = False
    ) -> E | None:
        found = self._cache.get((kind.name, scope, ref), load, fresh)
        return found if isinstance(found, kind.entity) else None

    def _by_id[E: Entity](self, kind: Kind[E], scope: Scope, object_id: str) -> E | None:
        """An object by id; an id of another shape is not found, without a read."""
        return self._repo.get(scope, kind, object_id) if is_id(object_id, kind.id_prefix) else None

    def _all[E: Entity](self, kind: Kind[E], scope: Scope) -> list[E]:
        found: list[E] = []
        after: str | None = None
        while True:
            page = self._repo.list(scope, kind, 100, after)
            found += page.data
            if not page.has_more or not page.data:
                return found
            after = page.data[-1].id
