"""``/v1/settings``: the calling tenant's own settings, those of the key's mode."""

from __future__ import annotations

from typing import Any

from billing.adapters import services
from billing.adapters.services import tenants
from billing.tenant_settings import SettingsUpdate
from chalicelib.http import Call, route


@route("/v1/settings")
def get_settings(call: Call) -> dict[str, Any]:
    return tenants().settings(call.scope).to_public(call.scope.livemode)


@route("/v1/settings", methods=("PATCH",))
def update_settings(call: Call) -> dict[str, Any]:
    return services.update_settings(call.scope, call.body(SettingsUpdate)).to_public(call.scope.livemode)
