"""``graduated``: each tier prices only the units that fall inside it (tax brackets)."""

from __future__ import annotations

from billing.pricing.tiers import TieredParams


class Params(TieredParams):
    pass
