"""Liveness probe, no auth."""

from __future__ import annotations

from chalicelib.http import Call, route


@route("/health", auth=False)
def health(call: Call) -> dict[str, str]:
    return {"status": "ok"}
