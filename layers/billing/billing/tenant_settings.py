"""A tenant's own settings: how its billing behaves (more arrive with the issues that use them)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from billing.validation import Input

MAX_GRACE_S = 30 * 24 * 3600


class TenantSettings(BaseModel):
    """``grace_period``: seconds after a billing period ends during which late usage still
    counts for it (and its invoice stays a draft); 0 closes periods at once."""

    model_config = ConfigDict(defer_build=True)

    grace_period: int = 3600

    @property
    def grace(self) -> timedelta:
        return timedelta(seconds=self.grace_period)

    def to_public(self) -> dict[str, Any]:
        return {"object": "settings", **self.model_dump()}


class SettingsUpdate(Input):
    grace_period: Annotated[int, Field(ge=0, le=MAX_GRACE_S)] = 3600
