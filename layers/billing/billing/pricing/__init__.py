"""Pricing models, one module each, chosen from ``MODELS`` by name.

Each module defines ``Params``: the configuration a charge of that model
carries, validated when the plan is saved, and ``rate(params, usage)``: the
price of a period's usage, unrounded, with its breakdown. Unit amounts are
decimal strings (sub-cent prices such as ``"0.00025"``); flat amounts are
integers in the plan currency's minor unit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from billing.pricing import flat, graduated, package, per_unit, percentage, volume
from billing.pricing.common import Params, Rated, Usage


@dataclass(frozen=True)
class PricingModel:
    params: type[Params]
    rate: Callable[[Any, Usage], Rated]


MODELS: dict[str, PricingModel] = {
    "flat": PricingModel(flat.Params, flat.rate),
    "per_unit": PricingModel(per_unit.Params, per_unit.rate),
    "graduated": PricingModel(graduated.Params, graduated.rate),
    "volume": PricingModel(volume.Params, volume.rate),
    "package": PricingModel(package.Params, package.rate),
    "percentage": PricingModel(percentage.Params, percentage.rate),
}

__all__ = ["MODELS", "Params", "PricingModel", "Rated", "Usage"]
