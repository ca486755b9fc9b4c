"""The stored shape of each catalog kind: which fields an item keeps, under which names.

An item is not the public JSON of its object: ``id`` is read from its key, ``object`` from
its kind, ``livemode`` from its scope, the counters and the revision are attributes of their
own, and every other field is written and read here by name. Renaming a field of the API
therefore changes the entity and this module, never the items already stored.

Items written before this module kept the public JSON of the time in ``data`` (with ``id``,
``object`` and ``livemode``, and a plan's charges flat: parameters beside the charge's
fields); they are still read, by the same functions: the names below are the names they
were written with, and ``_charge`` reads both shapes of a charge.
"""

from __future__ import annotations

from typing import Any

from billing.catalog.add_ons import AddOn
from billing.catalog.charges import Charge
from billing.catalog.coupons import Coupon
from billing.catalog.meters import Meter
from billing.catalog.plans import Plan
from billing.catalog.resource import Entity
from billing.catalog.suppliers import Supplier
from billing.catalog.tax_rates import TaxRate
from billing.pricing import MODELS

Item = dict[str, Any]


def stored(entity: Entity) -> Item:
    """What an item keeps of ``entity`` (beside its keys, counters and revision)."""
    match entity:
        case Meter():
            return {
                "code": entity.code,
                "name": entity.name,
                "description": entity.description,
                "aggregation": entity.aggregation,
                "field": entity.field,
                "rounding": entity.rounding,
                "group_by": entity.group_by,
                "created_at": entity.created_at,
            }
        case Plan():
            return {
                "code": entity.code,
                "version": entity.version,
                "name": entity.name,
                "description": entity.description,
                "currency": entity.currency,
                "interval": entity.interval,
                "interval_count": entity.interval_count,
                "base_fee": entity.base_fee,
                "trial_days": entity.trial_days,
                "charges": [_charge_item(charge) for charge in entity.charges],
                "status": entity.status,
                "previous_version": entity.previous_version,
                "superseded_by": entity.superseded_by,
                "created_at": entity.created_at,
            }
        case AddOn():
            return {
                "code": entity.code,
                "name": entity.name,
                "description": entity.description,
                "amount": entity.amount,
                "currency": entity.currency,
                "interval": entity.interval,
                "interval_count": entity.interval_count,
                "supplier": entity.supplier,
                "invoice_display_name": entity.invoice_display_name,
                "created_at": entity.created_at,
            }
        case Coupon():  # times_redeemed is a counter attribute
            return {
                "code": entity.code,
                "name": entity.name,
                "percent_off": entity.percent_off,
                "amount_off": entity.amount_off,
                "currency": entity.currency,
                "duration": entity.duration,
                "duration_in_periods": entity.duration_in_periods,
                "redeem_by": entity.redeem_by,
                "max_redemptions": entity.max_redemptions,
                "applies_to_plans": entity.applies_to_plans,
                "created_at": entity.created_at,
            }
        case TaxRate():
            return {
                "name": entity.name,
                "description": entity.description,
                "percent": entity.percent,
                "inclusive": entity.inclusive,
                "country": entity.country,
                "region": entity.region,
                "active": entity.active,
                "created_at": entity.created_at,
            }
        case Supplier():
            return {
                "code": entity.code,
                "name": entity.name,
                "email": entity.email,
                "phone": entity.phone,
                "address": entity.address,
                "tax_id": entity.tax_id,
                "bank_details": entity.bank_details,
                "metadata": entity.metadata,
                "created_at": entity.created_at,
            }
    raise TypeError(f"not a catalog object: {type(entity).__name__}")


def fields(kind: str, data: Item) -> Item:
    """The fields of a ``kind`` object from what its item keeps (``stored``)."""
    names = FIELDS[kind]
    found = {name: data[name] for name in names if name in data}
    if "charges" in found:
        found["charges"] = [_charge(charge) for charge in found["charges"]]
    return found


FIELDS = {
    "meter": ("code", "name", "description", "aggregation", "field", "rounding", "group_by", "created_at"),
    "plan": (
        "code", "version", "name", "description", "currency", "interval", "interval_count", "base_fee",
        "trial_days", "charges", "status", "previous_version", "superseded_by", "created_at",
    ),
    "add_on": (
        "code", "name", "description", "amount", "currency", "interval", "interval_count", "supplier",
        "invoice_display_name", "created_at",
    ),
    "coupon": (
        "code", "name", "percent_off", "amount_off", "currency", "duration", "duration_in_periods", "redeem_by",
        "max_redemptions", "applies_to_plans", "created_at",
    ),
    "tax_rate": ("name", "description", "percent", "inclusive", "country", "region", "active", "created_at"),
    "supplier": ("code", "name", "email", "phone", "address", "tax_id", "bank_details", "metadata", "created_at"),
}  # fmt: skip
"""Per kind, the stored names ``fields`` reads: the keys ``stored`` writes."""


def _charge_item(charge: Charge) -> Item:
    """A charge's fields, and its pricing model's parameters apart (the model owns their names)."""
    return {
        "meter": charge.meter,
        "model": charge.model,
        "supplier": charge.supplier,
        "invoice_display_name": charge.invoice_display_name,
        "params": charge.params.model_dump(mode="json"),
    }


def _charge(item: Item) -> Charge:
    if "params" not in item:  # stored before: flat, as the API shows a charge
        return Charge.model_validate(item)
    model = MODELS[item["model"]]
    return Charge(
        meter=item["meter"],
        model=item["model"],
        supplier=item.get("supplier"),
        invoice_display_name=item.get("invoice_display_name"),
        params=model.params.model_validate(item["params"], context={"stored": True}),
    )
