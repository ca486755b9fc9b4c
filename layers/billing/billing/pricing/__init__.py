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

CHARGE_FIELDS = frozenset({"meter", "model", "supplier", "invoice_display_name"})


def charge_params(charge: dict[str, Any]) -> Params:
    """The model parameters of a charge as stored on a plan (read as stored: a price saved
    under an older rule still rates; new prices are checked when a plan is saved)."""
    params = {k: v for k, v in charge.items() if k not in CHARGE_FIELDS}
    return MODELS[charge["model"]].params.model_validate(params, context={"stored": True})


__all__ = ["MODELS", "Params", "PricingModel", "Rated", "Usage", "charge_params"]
