"""EventBridge-style event patterns, as used by Lambda filter criteria and EventBridge rules.

Supported: literal lists (``["INSERT"]``), nested objects, and the matchers
``prefix``, ``anything-but`` and ``exists``.
"""

from __future__ import annotations

from typing import Any

_MISSING = object()


def matches(pattern: dict[str, Any], event: Any) -> bool:
    if not isinstance(event, dict):
        return False
    for key, expected in pattern.items():
        actual = event.get(key, _MISSING)
        if isinstance(expected, dict):
            if actual is _MISSING or not matches(expected, actual):
                return False
        elif not any(_matches_value(rule, actual) for rule in expected):
            return False
    return True


def _matches_value(rule: Any, actual: Any) -> bool:
    if isinstance(rule, dict):
        ((kind, arg),) = rule.items()
        if kind == "exists":
            return (actual is not _MISSING) == bool(arg)
        if actual is _MISSING:
            return False
        if kind == "prefix":
            return isinstance(actual, str) and actual.startswith(arg)
        if kind == "anything-but":
            excluded = arg if isinstance(arg, list) else [arg]
            return actual not in excluded
        raise NotImplementedError(f"pattern matcher {kind}")
    if isinstance(actual, list):
        return rule in actual
    return actual is not _MISSING and rule == actual
