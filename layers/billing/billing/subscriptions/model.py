"""The subscription entity, its history entries, and the requests that act on it."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

from billing.catalog.fields import Code
from billing.customers.fields import Metadata
from billing.quantities import AddOnQuantity
from billing.subscriptions.lifecycle import Status
from billing.validation import Input, Timestamp

PlanRef = Annotated[str, Field(min_length=1, max_length=64)]
When = Literal["now", "period_end"]


class AddOnItem(Input):
    """An add-on a request names (by code), in ``quantity``."""

    add_on: Code
    quantity: AddOnQuantity = 1


class SubscriptionAddOn(BaseModel):
    """An add-on a subscription carries: its code and id, how many, since when. A one-off
    add-on is billed once, on the next invoice: then it is ``invoiced`` (shown only then)."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    add_on: str
    add_on_id: str
    quantity: int
    added_at: str
    invoiced: bool = False

    @model_serializer(mode="wrap")
    def _invoiced_only_when_true(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        shown: dict[str, Any] = handler(self)
        if not self.invoiced:
            shown.pop("invoiced", None)
        return shown


class SubscriptionCreate(Input):
    customer: Annotated[str, Field(min_length=1, max_length=64)]
    plan: PlanRef
    start_date: Timestamp | None = None
    billing_anchor: Timestamp | None = None
    trial_days: Annotated[int, Field(ge=0, le=730)] | None = None
    coupon: Code | None = None
    add_ons: Annotated[list[AddOnItem], Field(max_length=20)] = []
    metadata: Metadata = {}


class SubscriptionUpdate(Input):
    metadata: Metadata


class ChangePlan(Input):
    plan: PlanRef
    when: When = "now"


class Cancel(Input):
    when: When = "now"


class Migrate(Input):
    effective_date: Timestamp


class PendingChange(BaseModel):
    model_config = ConfigDict(defer_build=True)

    type: Literal["plan_change", "cancel", "tariff_change"]
    plan: str | None = None
    effective_at: str


class Subscription(BaseModel):
    """Public shape plus ``revision`` (optimistic lock, not shown).

    Billing state, kept by the invoice runs (``billing.subscriptions.cycle``):
    ``invoiced_through`` is the moment up to which usage has been invoiced (None: the start),
    ``billed_through`` the end of the last period whose recurring fees were invoiced or waived
    (trial, pause), ``coupon_uses`` how many invoices the coupon has discounted.
    """

    model_config = ConfigDict(extra="forbid", defer_build=True)

    id: str
    object: Literal["subscription"] = "subscription"
    livemode: bool
    customer: str
    plan: str
    plan_code: str
    currency: str
    status: Status
    start_date: str
    billing_anchor: str
    trial_end: str | None
    current_period_start: str
    current_period_end: str
    cancel_at_period_end: bool = False
    canceled_at: str | None = None
    paused_at: str | None = None
    coupon: str | None = None
    add_ons: list[SubscriptionAddOn] = []
    pending_change: PendingChange | None = None
    metadata: dict[str, str] = {}
    created_at: str
    test_clock: str | None = None
    invoiced_through: str | None = None
    billed_through: str | None = None
    coupon_uses: int = 0
    revision: int = Field(default=1, exclude=True)


class HistoryEntry(BaseModel):
    """One transition, as the rating engine reads it to prorate."""

    model_config = ConfigDict(defer_build=True)

    at: str
    type: str
    status: Status
    plan: str
    details: dict[str, Any] = {}
