"""A tenant's own settings: how its billing behaves and how its documents present it.

Settings are kept per mode, like every other object: a ``sk_test_`` key reads and changes the
test-mode settings, a ``sk_live_`` key the live ones, and each mode starts from the defaults.
Settings stored before they were kept per mode (one set per tenant) are the live mode's.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from billing.prepaid.policy import AtZero, PrepaidPolicy
from billing.validation import Input

MAX_GRACE_S = 30 * 24 * 3600
MAX_TOLERANCE = 100_000  # minor units: a tolerance writes off tiny shortfalls, not debts
Prefix = Annotated[str, Field(min_length=1, max_length=20, pattern=r"^[A-Za-z0-9][A-Za-z0-9\-]*$")]
Text = Annotated[str, Field(min_length=1, max_length=200)]
Lines = Annotated[list[Text], Field(max_length=6)]


def _has_letter(value: str) -> str:
    if not any(c.isalpha() for c in value):
        raise ValueError("a sender id needs at least one letter")
    return value


SenderId = Annotated[str, Field(pattern=r"^[A-Za-z0-9]{1,11}$"), AfterValidator(_has_letter)]
"""An SMS sender id as carriers take it: 1 to 11 letters and digits, at least one letter."""


class TenantSettings(BaseModel):
    """- ``grace_period``: seconds after a billing period ends during which late usage still
      counts for it (and its invoice stays a draft); 0 closes periods and finalizes at once.
    - ``payment_terms_days``: an invoice is due this many days after it is issued.
    - ``invoice_prefix``: invoice numbers read ``{prefix}-{year}-{sequence:06d}``.
    - ``business_name``, ``business_address``, ``tax_id``, ``support_email``: printed on
      invoices (the tenant's name when no business name is set), and on the hosted checkout.
    - ``underpayment_tolerance``: the shortfall (minor units of the invoice's currency) a
      payment made through an invoice's checkout may leave and still pay the invoice: the rest
      is written off. 0: every shortfall stays due.
    - Notification mail comes from the platform's ``NOTIFICATION_SENDER``, shown with the
      business name, with ``support_email`` as its Reply-To: a tenant never picks the sending
      address (SES would let it send as any identity the platform's account verified).
    - ``sms_sender_id``: the alphanumeric sender id SMS show where carriers allow one (null:
      the carrier's number).
    - ``prepaid_low_balance_threshold``: a prepaid customer's balance (minor units) below which
      ``CustomerBalanceLow`` is emitted, once per crossing; None: no notice.
    - ``prepaid_at_zero``: a prepaid customer's event its balance does not cover is refused
      (``refuse``: 402, nothing stored) or accepted, the balance going below zero and
      ``CustomerBalanceExhausted`` emitted as it reaches zero (``suspend``) (``billing.prepaid``).
    - ``prepaid_auto_top_up``: the amount (minor units of the customer's currency) a prepaid
      customer's saved card is charged when its balance goes below the threshold
      (``billing.payments.off_session``); None: no automatic top-up.
    - ``portal_plans``: the codes of the plans a customer may change to by itself in the
      customer portal (none by default: a tenant opens the change to its public plans only,
      never to an internal or free one)."""

    model_config = ConfigDict(defer_build=True)

    grace_period: int = 3600
    payment_terms_days: int = 14
    invoice_prefix: str = "INV"
    business_name: str | None = None
    business_address: list[str] = []
    tax_id: str | None = None
    support_email: str | None = None
    underpayment_tolerance: int = 0
    sms_sender_id: str | None = None
    prepaid_low_balance_threshold: int | None = None
    prepaid_at_zero: AtZero = "refuse"
    prepaid_auto_top_up: int | None = None
    portal_plans: list[str] = []

    @property
    def grace(self) -> timedelta:
        return timedelta(seconds=self.grace_period)

    @property
    def prepaid(self) -> PrepaidPolicy:
        return PrepaidPolicy(self.prepaid_at_zero, self.prepaid_low_balance_threshold)

    def to_public(self, livemode: bool) -> dict[str, Any]:
        return {"object": "settings", "livemode": livemode, **self.model_dump()}


class SettingsUpdate(Input):
    grace_period: Annotated[int, Field(ge=0, le=MAX_GRACE_S)] = 3600
    payment_terms_days: Annotated[int, Field(ge=0, le=365)] = 14
    invoice_prefix: Prefix = "INV"
    business_name: Text | None = None
    business_address: Lines = []
    tax_id: Annotated[str, Field(min_length=1, max_length=40)] | None = None
    support_email: Annotated[str, Field(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")] | None = None
    underpayment_tolerance: Annotated[int, Field(ge=0, le=MAX_TOLERANCE)] = 0
    sms_sender_id: SenderId | None = None
    prepaid_low_balance_threshold: Annotated[int, Field(ge=1, le=10**15)] | None = None
    prepaid_at_zero: AtZero = "refuse"
    prepaid_auto_top_up: Annotated[int, Field(ge=1, le=10**15)] | None = None
    portal_plans: Annotated[list[Annotated[str, Field(min_length=1, max_length=64)]], Field(max_length=50)] = []
