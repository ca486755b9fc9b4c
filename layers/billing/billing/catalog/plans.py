"""Plans (tariffs): a recurring base fee and usage charges (``billing.catalog.charges``).

A plan's prices never change under existing subscriptions: changing
``base_fee``, ``trial_days`` or ``charges`` creates a new version of the plan
(a new id, the same code, ``version`` + 1) and marks the old one superseded.
Subscriptions stay on their version until migrated with advance notice.
Names and descriptions are edited in place.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from billing.catalog.charges import Charge, Charges
from billing.catalog.fields import Code, Description, Interval, IntervalCount, Name
from billing.catalog.resource import CatalogInput, Entity, Kind
from billing.customers.fields import Currency
from billing.pricing.common import MinorAmount

PRICE_FIELDS = ("base_fee", "trial_days", "charges")
TrialDays = Annotated[int, Field(ge=0, le=730)]


class PlanUpdate(CatalogInput):
    name: Name | None = None
    description: Description | None = None
    base_fee: MinorAmount | None = None
    trial_days: TrialDays | None = None
    charges: Charges | None = None

    def fields(self, only_sent: bool = False) -> dict[str, Any]:
        values = super().fields(only_sent)
        if self.charges is not None:
            values["charges"] = [charge.charge().model_dump(mode="json") for charge in self.charges]
        return values

    def references(self) -> list[tuple[str, str, str]]:
        found = []
        for i, charge in enumerate(self.charges or []):
            found.append(("meter", charge.meter, f"charges[{i}].meter"))
            if charge.supplier:
                found.append(("supplier", charge.supplier, f"charges[{i}].supplier"))
        return found


class PlanCreate(PlanUpdate):
    code: Code
    name: Name
    currency: Currency
    interval: Interval
    interval_count: IntervalCount = 1
    base_fee: MinorAmount = 0
    trial_days: TrialDays = 0
    charges: Charges = []


class Plan(Entity):
    code: str
    version: int
    name: str
    description: str | None
    currency: str
    interval: Interval
    interval_count: int
    base_fee: int
    trial_days: int
    charges: list[Charge]
    status: Literal["active", "superseded"] = "active"
    previous_version: str | None = None
    superseded_by: str | None = None


KIND = Kind(
    name="plan",
    id_prefix="plan",
    event="Plan",
    create=PlanCreate,
    update=PlanUpdate,
    entity=Plan,
    versioned=PRICE_FIELDS,
)
