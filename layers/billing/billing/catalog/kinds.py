"""Every catalog kind, by name."""

from __future__ import annotations

from billing.catalog import add_ons, coupons, meters, plans, suppliers, tax_rates
from billing.catalog.resource import Entity, Kind

KINDS: dict[str, Kind[Entity]] = {
    module.KIND.name: module.KIND for module in (meters, plans, add_ons, coupons, tax_rates, suppliers)
}
