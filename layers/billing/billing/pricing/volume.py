"""``volume``: the tier the period's total falls in prices every unit."""

from __future__ import annotations

from billing.pricing.tiers import TieredParams


class Params(TieredParams):
    pass
