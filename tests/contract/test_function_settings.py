"""Each function's settings model and its environment in ``template.yaml`` name the same
variables, and a function deployed without one of them, or with one it cannot use, fails at
import (Lambda's init), naming it."""

from __future__ import annotations

import importlib.util
import sys
import uuid
from pathlib import Path
from types import ModuleType

import pytest

from billing.settings import FunctionSettings, SettingsError
from infra import template

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = sorted(
    name for name, resource in template.load()["Resources"].items() if resource["Type"] == "AWS::Serverless::Function"
)
LIBRARIES = ("POWERTOOLS_", "PYDANTIC_")  # variables read by libraries, not by our settings
EVERY_VARIABLE = {name for function in FUNCTIONS for name in template.placeholder_environment(function)}


def _import(function: str, environment: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """The function's handler module, imported afresh as Lambda imports it, with only ``environment``."""
    for name in EVERY_VARIABLE:
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    properties = template.load()["Resources"][function]["Properties"]
    folder = ROOT / properties["CodeUri"]
    monkeypatch.syspath_prepend(str(folder))  # as /var/task: the API's modules import chalicelib
    module_name = properties["Handler"].rsplit(".", 1)[0]
    spec = importlib.util.spec_from_file_location(
        f"_settings_of_{function}_{uuid.uuid4().hex}", folder / f"{module_name}.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # as an import does: the models' annotations resolve
    spec.loader.exec_module(module)
    return module


def _model(function: str, monkeypatch: pytest.MonkeyPatch) -> type[FunctionSettings]:
    environment = _import(function, template.placeholder_environment(function), monkeypatch).environment
    assert isinstance(environment, FunctionSettings)
    return type(environment)


@pytest.mark.parametrize("function", FUNCTIONS)
def test_a_function_is_given_exactly_the_variables_of_its_settings(
    function: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    given = {name for name in template.placeholder_environment(function) if not name.startswith(LIBRARIES)}
    assert _model(function, monkeypatch).variables() == given


@pytest.mark.parametrize("function", FUNCTIONS)
def test_a_function_without_a_variable_it_needs_fails_at_import_naming_it(
    function: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = _model(function, monkeypatch)
    needed = [field.alias for field in model.model_fields.values() if field.is_required()]
    assert needed
    for variable in needed:
        environment = template.placeholder_environment(function)
        del environment[variable]
        with pytest.raises(SettingsError, match=f"{variable} is not set"):
            _import(function, environment, monkeypatch)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("INVOICE_RUN_QUEUE_URL", "InvoiceRunQueue"),
        ("BILLING_TABLE", "billing table"),
        ("PUBLIC_BASE_URL", "example.com"),
    ],
)
def test_a_malformed_variable_fails_at_import_naming_it(
    variable: str, value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    environment = template.placeholder_environment("ApiFunction") | {variable: value}
    with pytest.raises(SettingsError, match=variable):
        _import("ApiFunction", environment, monkeypatch)
