"""API Gateway in-process: Chalice's local gateway plus the template's gateway responses.

Chalice's local mode runs our authorizer and routes like API Gateway, but
answers auth failures and unknown routes with its own bodies. Here those
failures are answered with the ``x-amazon-apigateway-gateway-responses`` of
the transformed template, so local clients see exactly what AWS would send.
"""

from __future__ import annotations

import json
import re
import uuid
from http.server import HTTPServer
from typing import Any

from chalice import Chalice
from chalice.config import Config
from chalice.local import (
    ChaliceRequestHandler,
    CustomLocalChalice,
    ForbiddenError,
    LocalChalice,
    LocalDevServer,
    LocalGateway,
    LocalGatewayAuthorizer,
    LocalGatewayException,
    NotAuthorizedError,
)

_VARIABLE = re.compile(r"\$context\.([A-Za-z0-9_.]+)")


class _Authorizer(LocalGatewayAuthorizer):
    """Remembers the last denial, whose context the ACCESS_DENIED response renders."""

    denied_context: dict[str, Any] = {}

    def _check_can_invoke_view_function(self, arn: str, auth_result: dict[str, Any]) -> bool:
        allowed = super()._check_can_invoke_view_function(arn, auth_result)
        self.denied_context = {} if allowed else dict(auth_result.get("context") or {})
        return allowed


class _NoRoute(Exception):
    """No route matches: API Gateway answers MISSING_AUTHENTICATION_TOKEN."""


def _per_thread_requests(app: Chalice) -> None:
    """Give the app a ``current_request`` per thread, as Chalice's own local server does.

    In Lambda one container serves one request at a time; here one process serves many
    concurrently, and a shared ``current_request`` would hand a view another request.
    """
    if not isinstance(app, LocalChalice):
        CustomLocalChalice.__bases__ = (LocalChalice, app.__class__)
        app.__class__ = CustomLocalChalice


class Gateway(LocalGateway):
    def __init__(self, app: Chalice, config: Config, gateway_responses: dict[str, Any]):
        _per_thread_requests(app)
        super().__init__(app, config)
        self._authorizer = _Authorizer(app)
        self._responses = gateway_responses
        self._request_id = ""

    def handle_request(self, method: str, path: str, headers: dict[str, Any], body: bytes | None) -> dict[str, Any]:
        self._request_id = str(uuid.uuid4())
        try:
            return super().handle_request(method, path, headers, body)
        except _NoRoute:
            return self._render("MISSING_AUTHENTICATION_TOKEN", 403, {})
        except NotAuthorizedError:
            return self._render("UNAUTHORIZED", 401, {})
        except ForbiddenError:
            return self._render("ACCESS_DENIED", 403, {"authorizer": self._authorizer.denied_context})
        except LocalGatewayException as exc:
            return self._render("DEFAULT_5XX", 500, {"error": {"message": exc.body.decode()}})

    def _generate_lambda_event(self, method: str, path: str, headers: Any, body: bytes | None) -> dict[str, Any]:
        try:
            event: dict[str, Any] = super()._generate_lambda_event(method, path, headers, body)
        except ValueError:
            raise _NoRoute(path) from None
        if method not in self._app_object.routes[event["requestContext"]["resourcePath"]]:
            raise _NoRoute(path)  # API Gateway has no such method, so no such route
        event["requestContext"]["requestId"] = self._request_id
        return event

    def _render(self, response_type: str, default_status: int, context: dict[str, Any]) -> dict[str, Any]:
        spec = self._responses.get(response_type) or self._responses.get("DEFAULT_4XX") or {}
        context = {**context, "requestId": self._request_id}

        def lookup(match: re.Match[str]) -> str:
            value: Any = context
            for part in match.group(1).split("."):
                value = value.get(part, "") if isinstance(value, dict) else ""
            return json.dumps(str(value))[1:-1]

        body = _VARIABLE.sub(lookup, spec.get("responseTemplates", {}).get("application/json", "{}"))
        headers = {"Content-Type": "application/json"}
        for name, source in spec.get("responseParameters", {}).items():
            header = name.removeprefix("gatewayresponse.header.")
            headers[header] = (
                _VARIABLE.sub(lookup, "$" + source) if source.startswith("context.") else source.strip("'")
            )
        status = int(spec.get("statusCode", default_status))
        return {"statusCode": status, "headers": headers, "multiValueHeaders": {}, "body": body}


def serve(app: Chalice, gateway_responses: dict[str, Any], host: str, port: int) -> LocalDevServer:
    """An HTTP server (one thread per connection) in front of ``Gateway``."""
    config = Config.create(app_name=app.app_name, lambda_timeout=29, lambda_memory_size=512)

    class Handler(ChaliceRequestHandler):
        def __init__(self, request: Any, client_address: Any, server: HTTPServer, app_object: Chalice, config: Config):
            self.local_gateway = Gateway(app_object, config, gateway_responses)
            super(ChaliceRequestHandler, self).__init__(request, client_address, server)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the app logs requests itself
            pass

        def __getattr__(self, name: str) -> Any:
            """Every HTTP method (TRACE, CONNECT, made-up ones) goes to the gateway, as in AWS."""
            if name.startswith("do_"):
                return self._generic_handle
            raise AttributeError(name)

    return LocalDevServer(app, config, host, port, handler_cls=Handler)
