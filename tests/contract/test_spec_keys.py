"""api_spec/*.yaml hold each key once: YAML keeps the last of two equal keys without a word, so a
second `PaymentProvider` schema silently replaced the first, and payments failed their own
schema (found by schemathesis only when an offline payment was listed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


class _Strict(yaml.SafeLoader):
    pass


def _mapping(loader: _Strict, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    keys = [loader.construct_object(key) for key, _ in node.value]
    repeated = sorted({str(key) for key in keys if keys.count(key) > 1})
    if repeated:
        raise AssertionError(f"keys repeated at line {node.start_mark.line + 1}: {repeated}")
    return yaml.SafeLoader.construct_mapping(loader, node, deep)


_Strict.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


@pytest.mark.parametrize("name", ["openapi.yaml", "events.yaml"])
def test_no_key_is_written_twice(name: str) -> None:
    assert yaml.load((ROOT / "api_spec" / name).read_text(), _Strict)
