"""What a subscription names in the catalog, resolved and checked against its plan.

A plan named by code is its current version; superseded versions take no new
subscriptions. Coupons must be redeemable (not expired, under their limit, for
this plan); coupons with an amount and add-ons must be in the plan's currency, and a
recurring add-on must recur as the plan does.
"""

from __future__ import annotations

from datetime import datetime

from billing.catalog.add_ons import AddOn
from billing.catalog.coupons import Coupon
from billing.catalog.lookups import CatalogLookups
from billing.catalog.plans import Plan
from billing.catalog.resource import require_current
from billing.clock import to_wire
from billing.errors import DomainRuleViolation, InvalidRequest
from billing.scope import Scope
from billing.subscriptions.model import AddOnItem, SubscriptionAddOn


def same_currency(expected: str, actual: str | None, what: str, param: str | None = None) -> None:
    """Refuse ``what`` when it is priced in another currency than ``expected`` (None: not yet set)."""
    if actual not in (None, expected):
        raise DomainRuleViolation(f"{what} is in {actual}; expected {expected}.", code="currency_mismatch", param=param)


def every_period(add_on: AddOn, plan: Plan, param: str | None) -> None:
    """A recurring add-on is billed with the plan's fees, so it must recur as often."""
    if add_on.interval and (add_on.interval, add_on.interval_count) != (plan.interval, plan.interval_count):
        raise DomainRuleViolation(
            f"Add-on '{add_on.code}' recurs every {add_on.interval_count} {add_on.interval}; "
            f"plan '{plan.code}' every {plan.interval_count} {plan.interval}.",
            code="add_on_interval_mismatch",
            param=param,
        )


class CatalogReferences:
    """What a subscription request names, looked up in ``CatalogLookups`` and checked."""

    def __init__(self, catalog: CatalogLookups):
        self._catalog = catalog

    def plan(self, scope: Scope, ref: str, param: str) -> Plan:
        found = self._catalog.find_plan(scope, ref)
        if found is None:
            raise InvalidRequest(f"No such plan: '{ref}'.", code="resource_missing", param=param)
        require_current(found, param)
        return found

    def plan_by_id(self, scope: Scope, plan_id: str) -> Plan:
        """The plan a subscription is on, whatever its version's status."""
        return self._catalog.plan(scope, plan_id)

    def coupon(self, scope: Scope, code: str, plan: Plan, now: datetime) -> Coupon:
        coupon = self._catalog.coupon(scope, code)
        if coupon is None:
            raise InvalidRequest(f"No such coupon: '{code}'.", code="resource_missing", param="coupon")

        def refuse(reason: str, message: str) -> DomainRuleViolation:
            return DomainRuleViolation(f"Coupon '{code}' {message}.", code=reason, param="coupon")

        if coupon.redeem_by and datetime.fromisoformat(coupon.redeem_by) <= now:
            raise refuse("coupon_expired", f"expired on {coupon.redeem_by}")
        if coupon.max_redemptions is not None and coupon.times_redeemed >= coupon.max_redemptions:
            raise refuse("coupon_exhausted", "is fully redeemed")
        if coupon.applies_to_plans and plan.code not in coupon.applies_to_plans:
            raise refuse("coupon_not_applicable", f"does not apply to plan '{plan.code}'")
        same_currency(plan.currency, coupon.currency, f"Coupon '{code}'", "coupon")
        return coupon

    def add_on(self, scope: Scope, code: str) -> AddOn:
        """An add-on a subscription already carries (it exists: catalog objects are never deleted)."""
        return self._catalog.add_on(scope, code)

    def add_on_line(self, scope: Scope, item: AddOnItem, plan: Plan, param: str, now: datetime) -> SubscriptionAddOn:
        add_on = self._catalog.find_add_on(scope, item.add_on)
        if add_on is None:
            raise InvalidRequest(f"No such add-on: '{item.add_on}'.", code="resource_missing", param=f"{param}.add_on")
        same_currency(plan.currency, add_on.currency, f"Add-on '{add_on.code}'", param)
        every_period(add_on, plan, param)
        return SubscriptionAddOn(add_on=add_on.code, add_on_id=add_on.id, quantity=item.quantity, added_at=to_wire(now))
