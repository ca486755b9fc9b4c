"""OpenAPI paths, Chalice routes and template.yaml API events are the same set of (method, path)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from infra import template
from infra.local.functions import load_handler

ROOT = Path(__file__).resolve().parents[2]
METHODS = {"get", "post", "put", "patch", "delete", "head", "options"}


@pytest.fixture(autouse=True)
def api_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The API checks its environment at import: where no stack gave one, the template's shape."""
    for name, value in template.placeholder_environment("ApiFunction").items():
        if name not in os.environ:
            monkeypatch.setenv(name, value)


def openapi_routes() -> set[tuple[str, str]]:
    spec = yaml.safe_load((ROOT / "api_spec" / "openapi.yaml").read_text())
    return {(method.upper(), path) for path, item in spec["paths"].items() for method in item if method in METHODS}


def chalice_routes() -> set[tuple[str, str]]:
    resources = template.transformed()["Resources"]
    app = load_handler("ApiFunction", resources["ApiFunction"])
    return {(method, path) for path, entries in app.routes.items() for method in entries}


def template_routes() -> set[tuple[str, str]]:
    body = template.transformed()["Resources"]["Api"]["Properties"]["Body"]
    return {(method.upper(), path) for path, item in body["paths"].items() for method in item if method in METHODS}


def test_openapi_matches_chalice_routes() -> None:
    assert openapi_routes() == chalice_routes()


def test_template_matches_chalice_routes() -> None:
    assert template_routes() == chalice_routes()


def test_the_same_routes_need_a_key_everywhere() -> None:
    """A route public in one place and protected in another would work locally and fail on AWS."""
    spec = yaml.safe_load((ROOT / "api_spec" / "openapi.yaml").read_text())
    default_security = spec.get("security", [])
    body = template.transformed()["Resources"]["Api"]["Properties"]["Body"]
    resources = template.transformed()["Resources"]
    app = load_handler("ApiFunction", resources["ApiFunction"])
    for path, entries in app.routes.items():
        for method, entry in entries.items():
            chalice_public = entry.authorizer is None
            template_public = body["paths"][path][method.lower()].get("security") in ([], [{"NONE": []}])
            operation = spec["paths"][path][method.lower()]
            spec_public = operation.get("security", default_security) == []
            assert chalice_public == template_public == spec_public, (method, path)


def test_openapi_version_is_3_1() -> None:
    spec = yaml.safe_load((ROOT / "api_spec" / "openapi.yaml").read_text())
    assert spec["openapi"].startswith("3.1")
