"""Pricing models, one module each, chosen from ``MODELS`` by name.

Each module defines ``Params``: the configuration a charge of that model
carries, validated when the plan is saved. Unit amounts are decimal strings
(sub-cent prices such as ``"0.00025"``); flat amounts are integers in the
plan currency's minor unit.
"""

from __future__ import annotations

from billing.pricing import flat, graduated, package, per_unit, percentage, volume
from billing.pricing.common import Params

MODELS: dict[str, type[Params]] = {
    "flat": flat.Params,
    "per_unit": per_unit.Params,
    "graduated": graduated.Params,
    "volume": volume.Params,
    "package": package.Params,
    "percentage": percentage.Params,
}

__all__ = ["MODELS", "Params"]
