"""Who a request acts for: a tenant, in test or live mode.

Test-mode and live-mode data are separate worlds (as in Stripe): a
``sk_test_`` key never sees what a ``sk_live_`` key created, and the reverse.
Every stored object is keyed by its scope.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scope:
    tenant_id: str
    livemode: bool

    @property
    def key(self) -> str:
        """Stable string used in storage keys: ``ten_...#live`` or ``ten_...#test``."""
        return f"{self.tenant_id}#{'live' if self.livemode else 'test'}"
