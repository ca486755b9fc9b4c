"""API Gateway in-process: Chalice's local gateway plus what the template sets on the API.

Chalice's local mode runs our authorizer and routes like API Gateway, but
answers auth failures and unknown routes with its own bodies. Here those
failures are answered with the ``x-amazon-apigateway-gateway-responses`` of
the transformed template, so local clients see exactly what AWS would send.
As API Gateway does, a token that does not match the authorizer's identity
validation expression is refused without calling the authorizer, and the
usage plan's throttle applies to the key the authorizer names
(``usageIdentifierKey``): 429 THROTTLED once a key has used its burst. The
stage-wide throttle, far above one tenant's, and the public webhook route's own method
throttle are not emulated.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http.server import HTTPServer
from typing import Any

from chalice.app import Chalice
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

from infra.local.throttle import TokenBuckets

_VARIABLE = re.compile(r"\$context\.([A-Za-z0-9_.]+)")


@dataclass(frozen=True)
class ApiSettings:
    """What API Gateway applies before a request reaches the app, from the transformed template."""

    responses: dict[str, Any]
    identity_pattern: re.Pattern[str] | None
    throttle: TokenBuckets | None  # the usage plan's, one bucket per key

    @classmethod
    def of(cls, template: dict[str, Any], clock: Callable[[], float] = time.monotonic) -> ApiSettings:
        body = template["Resources"]["Api"]["Properties"]["Body"]
        authorizers = [
            scheme["x-amazon-apigateway-authorizer"]
            for scheme in body.get("securityDefinitions", {}).values()
            if "x-amazon-apigateway-authorizer" in scheme
        ]
        expression = authorizers[0].get("identityValidationExpression") if authorizers else None
        plans = [r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::ApiGateway::UsagePlan"]
        if len(plans) > 1:
            raise NotImplementedError("the local gateway applies one usage plan to every key")
        limits = plans[0].get("Throttle") if plans else None
        return cls(
            responses=body.get("x-amazon-apigateway-gateway-responses", {}),
            identity_pattern=re.compile(expression) if expression else None,
            throttle=TokenBuckets(float(limits["RateLimit"]), int(limits["BurstLimit"]), clock) if limits else None,
        )


class _Throttled(Exception):
    """The key has no request left for now: API Gateway answers THROTTLED."""


class _Authorizer(LocalGatewayAuthorizer):
    """Checks the token's shape first; remembers the last denial, whose context the
    ACCESS_DENIED response renders; applies the usage plan's throttle to allowed requests."""

    denied_context: dict[str, Any] = {}

    def __init__(self, app: Chalice, settings: ApiSettings):
        super().__init__(app)
        self._settings = settings

    def _prepare_authorizer_event(self, arn: str, lambda_event: Any, lambda_context: Any) -> Any:
        event = super()._prepare_authorizer_event(arn, lambda_event, lambda_context)
        pattern = self._settings.identity_pattern
        if pattern is not None and not pattern.search(event["authorizationToken"]):
            raise NotAuthorizedError({}, b'{"message":"Unauthorized"}')
        return event

    def _check_can_invoke_view_function(self, arn: str, auth_result: dict[str, Any]) -> bool:
        allowed = super()._check_can_invoke_view_function(arn, auth_result)
        self.denied_context = {} if allowed else dict(auth_result.get("context") or {})
        throttle = self._settings.throttle
        if allowed and throttle is not None and not throttle.take(auth_result["usageIdentifierKey"]):
            raise _Throttled
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
    def __init__(self, app: Chalice, config: Config, settings: ApiSettings):
        _per_thread_requests(app)
        super().__init__(app, config)
        self._authorizer: _Authorizer = _Authorizer(app, settings)
        self._responses = settings.responses
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
        except _Throttled:
            return self._render("THROTTLED", 429, {})
        except LocalGatewayException as exc:
            return self._render("DEFAULT_5XX", 500, {"error": {"message": (exc.body or b"").decode()}})

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


def serve(app: Chalice, settings: ApiSettings, host: str, port: int) -> LocalDevServer:
    """An HTTP server (one thread per connection) in front of ``Gateway``; the connections share
    ``settings``, so a key's throttle counts all of them."""
    config = Config.create(app_name=app.app_name, lambda_timeout=29, lambda_memory_size=512)

    class Handler(ChaliceRequestHandler):
        # Chalice writes a response's headers and its body apart: without TCP_NODELAY the body
        # waits for the client's delayed ACK of the headers, 40 ms per request on a kept-alive
        # connection (a browser's, a provider's, a benchmark's).
        disable_nagle_algorithm = True

        def __init__(self, request: Any, client_address: Any, server: HTTPServer, app_object: Chalice, config: Config):
            self.local_gateway = Gateway(app_object, config, settings)
            super(ChaliceRequestHandler, self).__init__(request, client_address, server)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the app logs requests itself
            pass

        def __getattr__(self, name: str) -> Any:
            """Every HTTP method (TRACE, CONNECT, made-up ones) goes to the gateway, as in AWS."""
            if name.startswith("do_"):
                return self._generic_handle
            raise AttributeError(name)

    return LocalDevServer(app, config, host, port, handler_cls=Handler)
