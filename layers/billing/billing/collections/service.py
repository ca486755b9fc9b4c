"""Collections use cases: a tenant's dunning policy per mode, and a customer's debt as of its
clock (its test clock's time, or now)."""

from __future__ import annotations

from typing import Protocol

from billing.collections.policy import DunningPolicy, DunningPolicyUpdate
from billing.scope import Scope


class PolicyStore(Protocol):
    def get(self, scope: Scope) -> DunningPolicy | None: ...

    def save(self, scope: Scope, policy: DunningPolicy) -> None: ...


class DunningPolicies:
    def __init__(self, store: PolicyStore):
        self._store = store

    def get(self, scope: Scope) -> DunningPolicy:
        """The mode's policy; an empty one (no steps, no interest) until one is stored."""
        return self._store.get(scope) or DunningPolicy()

    def replace(self, scope: Scope, update: DunningPolicyUpdate) -> DunningPolicy:
        policy = DunningPolicy.of(update)
        self._store.save(scope, policy)
        return policy

