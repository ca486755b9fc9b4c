"""The Chalice app, its authorizer, and the ``route`` decorator every view uses.

``route`` is the one place where requests are parsed, ``Idempotency-Key`` is
honoured, and domain errors become the error envelope with their status.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools import Logger
from chalice.app import AuthRequest, AuthResponse, CaseInsensitiveMapping, Chalice, Response

from billing.adapters import services
from billing.errors import BillingError, InvalidRequest, Unauthenticated
from billing.idempotency import StoredResponse, canonical, fingerprint
from billing.scope import Scope
from billing.validation import M, parse
from chalicelib import bodies

app = Chalice(app_name="billing-api", configure_logs=False)  # Powertools Logger writes the logs
# Chalice answers a binary view 400 unless the request's Accept admits a binary type; ours are
# PDFs, asked for as such or as application/* (a missing Accept is */*: see ``accept_anything``).
app.api.binary_types.extend(["application/pdf", "application/*"])
logger = Logger(service="billing-api")

STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "not_found_error": 404,
    "conflict_error": 409,
    "domain_error": 422,
    "api_error": 500,
}


class TenantAuthResponse(AuthResponse):
    """An allowed request, naming the tenant's usage plan key: API Gateway applies the tenant's
    own request rate (template.yaml, ``TenantUsagePlan``). The key's value is the tenant id."""

    def to_dict(self, request: AuthRequest) -> dict[str, Any]:
        return {**super().to_dict(request), "usageIdentifierKey": self.principal_id}


@app.authorizer()
def api_key_authorizer(auth_request: AuthRequest) -> AuthResponse:
    """API key -> tenant. A refused key is denied with the reason in the context, which the
    gateway's ACCESS_DENIED response (template.yaml) renders as a 401 envelope."""
    try:
        scope = services.tenants().authenticate(auth_request.token)
    except Unauthenticated as exc:
        return AuthResponse(
            routes=[], principal_id="anonymous", context={"error_code": exc.code, "error_message": exc.message}
        )
    context = {"tenant_id": scope.tenant_id, "livemode": str(scope.livemode).lower()}
    return TenantAuthResponse(routes=["*"], principal_id=scope.tenant_id, context=context)


@dataclass
class Call:
    """What a view gets: the caller's scope and the parsed parts of the request."""

    scope: Scope
    params: dict[str, str]
    query: dict[str, str]
    raw_body: bytes
    accept: str = ""  # the Accept header, for views that answer something else than JSON
    headers: Mapping[str, str] = field(default_factory=dict)  # every header, lower-case names (pages, signatures)
    idempotency_key: str | None = None  # a POST's Idempotency-Key, for services that pass it on (a provider's key)
    method: str = "GET"

    def json(self, exact: bool = False) -> Any:
        """The JSON body; ``exact`` reads fractional numbers as ``Decimal`` (usage quantities)."""
        return bodies.parse(self.raw_body, exact)

    def body(self, model: type[M], exact: bool = False) -> M:
        """The JSON body as ``model`` (a domain's input model), or a 400 naming the field."""
        return parse(model, self.json(exact))

    def optional_body(self, model: type[M]) -> M:
        """As ``body``, for requests whose every field is optional: no body (or a JSON value
        that is empty: ``null``, ``[]``, ``""``) means all defaults."""
        return parse(model, self.json() or {})


@dataclass(frozen=True)
class Raw:
    """A view's answer sent as it is, neither JSON nor an error envelope: an HTML page or a
    redirect (``billing.pages`` gives the headers pages send)."""

    status: int
    body: str
    headers: dict[str, str]


@dataclass(frozen=True)
class Document:
    """A view's binary answer (a PDF), sent as it is rather than as JSON."""

    content: bytes
    content_type: str
    filename: str


View = Callable[[Call], Any]


def route(
    path: str,
    methods: tuple[str, ...] = ("GET",),
    auth: bool = True,
    query: frozenset[str] | None = frozenset(),
) -> Callable[[View], View]:
    """Register ``view`` for ``path``. It returns a body (200) or ``(status, body)``.

    Every route is written as ``@route("/v1/...", methods=(...))`` with its whole path and its
    methods as literals, so a grep for a path finds its view (``tests/contract`` checks it);
    the view's name, which Chalice needs unique, names the route."""

    def register(view: View) -> View:
        def handler(**params: str) -> Response:
            request = app.current_request
            response = _guarded(lambda: _respond(view, request, params, auth, query))
            if isinstance(response.body, Raw):
                raw = response.body
                return Response(body=raw.body, status_code=raw.status, headers=dict(raw.headers))
            if isinstance(response.body, Document):
                disposition = f'inline; filename="{response.body.filename}"'
                headers: dict[str, str | list[str]] = {
                    "Content-Type": response.body.content_type,
                    "Content-Disposition": disposition,
                    "Cache-Control": "private, no-store",  # a customer's invoice: no shared cache keeps it
                    "X-Content-Type-Options": "nosniff",
                }
                return Response(body=response.body.content, status_code=response.status, headers=headers)
            return Response(
                body=json.dumps(response.body),
                status_code=response.status,
                headers={"Content-Type": "application/json"},
            )

        handler.__name__ = view.__name__
        # Bodies are read as JSON whatever Content-Type says (curl -d sends a form type), so
        # Chalice's own 415 check, which answers outside the error envelope, is turned off.
        authorizer = api_key_authorizer if auth else None
        app.route(path, methods=list(methods), authorizer=authorizer, content_types=["*/*"])(handler)
        return view

    return register


def _respond(
    view: View, request: Any, params: dict[str, str], auth: bool, allowed_query: frozenset[str] | None
) -> StoredResponse:
    scope = _scope(request) if auth else Scope(tenant_id="", livemode=False)
    raw_body = request.raw_body or b""
    bodies.check_size(raw_body)  # before anything is parsed, claimed or written
    query = dict(request.query_params or {})
    for name in query:
        if allowed_query is not None and name not in allowed_query:  # None: a page, which ignores the rest
            raise InvalidRequest(f"Unknown query parameter: {name}.", code="parameter_unknown", param=name)
    headers = {name.lower(): value for name, value in (request.headers or {}).items()}
    key = request.headers.get("idempotency-key") if request.method == "POST" and auth else None
    call = Call(scope=scope, params=params, query=query, raw_body=raw_body, accept=headers.get("accept", ""),
                headers=headers, idempotency_key=key, method=request.method)  # fmt: skip
    if key is not None:
        request_print = fingerprint(request.method, request.context.get("path", ""), _canonical(call.raw_body))
        return services.idempotency().run(scope, key, request_print, lambda: _guarded(lambda: view(call)))
    return _guarded(lambda: view(call))


def _guarded(run: Callable[[], Any]) -> StoredResponse:
    """Every outcome, failures included, as a response in the error envelope."""
    try:
        result = run()
    except BillingError as exc:
        body = {"error": exc.to_dict()}
        return StoredResponse(status=exc.status or STATUS[exc.type], body=body, retryable=exc.retryable)
    except Exception:
        logger.exception("unhandled error")
        error = BillingError("An internal error occurred; it has been logged.")
        return StoredResponse(status=500, body={"error": error.to_dict()})
    if isinstance(result, StoredResponse):
        return result
    if isinstance(result, tuple):
        return StoredResponse(status=result[0], body=result[1])
    return StoredResponse(status=200, body=result)


def _canonical(raw_body: bytes) -> bytes:
    """The body as canonical JSON, so a retry that orders or spaces its JSON differently matches;
    a body that is no JSON (refused by the view) as it is."""
    try:
        return canonical(bodies.parse(raw_body, exact=True))
    except InvalidRequest:
        return raw_body


def _scope(request: Any) -> Scope:
    authorizer = request.context.get("authorizer") or {}
    tenant_id = authorizer.get("tenant_id")
    if not tenant_id:  # the gateway never lets this happen; refuse rather than guess
        raise Unauthenticated("No authenticated tenant.")
    return Scope(tenant_id=tenant_id, livemode=authorizer.get("livemode") == "true")


@app.middleware("http")
def request_log(event: Any, get_response: Callable[[Any], Response]) -> Response:
    """Structured log line per request; the request id is echoed as ``X-Request-Id``."""
    request_id = event.context.get("requestId") or app.lambda_context.aws_request_id
    tenant_id = (event.context.get("authorizer") or {}).get("tenant_id")
    logger.append_keys(request_id=request_id, tenant_id=tenant_id)
    started = time.perf_counter()
    response = get_response(event)
    response.headers["X-Request-Id"] = request_id
    elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
    logger.info("request", method=event.method, path=event.path, status=response.status_code, duration_ms=elapsed_ms)
    return response


@app.middleware("http")
def accept_anything(event: Any, get_response: Callable[[Any], Response]) -> Response:
    """A request without ``Accept`` accepts any media type (RFC 9110), so curl's plain GET of a
    PDF gets the PDF. On AWS the API's ``BinaryMediaTypes`` is ``*/*`` (template.yaml), so API
    Gateway decodes a binary answer whatever the request accepts; views answer 406 to an
    ``Accept`` that excludes what they serve."""
    if "accept" not in event.headers:
        event.headers = CaseInsensitiveMapping({**event.headers, "accept": "*/*"})
    return get_response(event)
