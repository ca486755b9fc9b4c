"""Routes are greppable: every operation of ``api_spec/openapi.yaml`` is registered by exactly one
``@route("<path>", methods=(...))`` decorator whose path and methods are written out as
literals, so a grep for a path (``/cancel``) finds its view; and every decorator is such an
operation. A path built from a constant or in a loop fails here, naming its line."""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

from tests.contract.test_parity import openapi_routes

ROUTES = Path(__file__).resolve().parents[2] / "functions" / "api" / "chalicelib" / "routes"


def _literal(node: ast.expr, where: str) -> str:
    assert isinstance(node, ast.Constant) and isinstance(node.value, str), f"{where}: not a string literal"
    return node.value


def decorated_routes() -> Counter[tuple[str, str]]:
    """(method, path) of every ``@route`` decorator in the route modules, counted."""
    found: Counter[tuple[str, str]] = Counter()
    for module in sorted(ROUTES.glob("*.py")):
        tree = ast.parse(module.read_text(), filename=str(module))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not (isinstance(node.func, ast.Name) and node.func.id == "route"):
                continue
            where = f"{module.name}:{node.lineno}"
            assert node.args, f"{where}: route() without its path"
            path = _literal(node.args[0], where)
            methods = ["GET"]
            for keyword in node.keywords:
                if keyword.arg == "methods":
                    assert isinstance(keyword.value, ast.Tuple), f"{where}: methods is not a literal tuple"
                    methods = [_literal(element, where) for element in keyword.value.elts]
            found.update((method, path) for method in methods)
    return found


def test_every_operation_has_exactly_one_literal_route_decorator() -> None:
    decorated = decorated_routes()
    assert [route for route, count in decorated.items() if count > 1] == []
    assert set(decorated) - openapi_routes() == set(), "decorators for operations the spec does not have"
    assert openapi_routes() - set(decorated) == set(), "operations without a literal route decorator"


def test_a_grep_for_a_path_finds_its_view() -> None:
    sources = "".join(module.read_text() for module in ROUTES.glob("*.py"))
    assert '@route("/v1/subscriptions/{subscription_id}/cancel", methods=("POST",))' in sources
