"""Resolve CloudFormation intrinsics (Ref, GetAtt, Sub, Join, Select) against provisioned values."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_SUB = re.compile(r"\$\{([^}]+)\}")


class Unresolved(Exception):
    """A value depends on a resource that is not provisioned yet."""


class Resolver:
    def __init__(self, refs: Mapping[str, Any], attributes: Mapping[tuple[str, str], Any]):
        self.refs = refs
        self.attributes = attributes

    def __call__(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self(item) for item in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((name, arg),) = value.items()
            if name == "Ref":
                return self._ref(arg)
            if name == "Fn::GetAtt":
                logical, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
                return self._attribute(logical, attribute)
            if name == "Fn::Sub":
                return self._sub(arg)
            if name == "Fn::Join":
                separator, items = arg
                return separator.join(str(item) for item in self(items))
            if name == "Fn::Select":
                index, items = arg
                return self(items)[int(self(index))]
        return {key: self(item) for key, item in value.items()}

    def _ref(self, name: str) -> Any:
        if name not in self.refs:
            raise Unresolved(name)
        return self.refs[name]

    def _attribute(self, logical: str, attribute: str) -> Any:
        if (logical, attribute) not in self.attributes:
            raise Unresolved(logical)
        return self.attributes[(logical, attribute)]

    def _sub(self, arg: Any) -> str:
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], self(arg[1]))

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return str(variables[name])
            if "." in name:
                logical, attribute = name.split(".", 1)
                return str(self._attribute(logical, attribute))
            return str(self._ref(name))

        return _SUB.sub(replace, text)


def dependencies(value: Any) -> set[str]:
    """Logical ids that ``value`` refers to."""
    found: set[str] = set()
    if isinstance(value, list):
        for item in value:
            found |= dependencies(item)
    elif isinstance(value, dict):
        for name, arg in value.items():
            if name == "Ref" and isinstance(arg, str):
                found.add(arg)
            elif name == "Fn::GetAtt":
                found.add(arg[0] if isinstance(arg, list) else arg.split(".", 1)[0])
            elif name == "Fn::Sub":
                text = arg if isinstance(arg, str) else arg[0]
                found |= {ref.split(".", 1)[0] for ref in _SUB.findall(text)}
                if not isinstance(arg, str):
                    found |= dependencies(arg[1])
            else:
                found |= dependencies(arg)
    return found
