"""JSON over HTTPS to a provider's REST API, with the standard library (no ``requests`` in the
layer for the crypto providers; Stripe goes through its own library).

Every call has a timeout: a provider that does not answer must fail the request that waits
for it (API Gateway gives a Lambda 29 s), not hang it. Errors come back as ``ProviderError``
with the provider's status and message, never with the credentials that were sent.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any

from billing.payments.providers.base import ProviderError

TIMEOUT = 10.0  # seconds, per call


def call(
    provider: str,
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: Mapping[str, Any] | None = None,
    timeout: float = TIMEOUT,
) -> dict[str, Any]:
    """``method url`` with a JSON ``body``; the JSON object answered. A 404 is a
    ``ProviderError`` with status 404 (callers that can take "no such object" check it)."""
    if not url.startswith(("https://", "http://")):
        raise ProviderError(provider, 0, f"not an http(s) URL: {url!r}")
    data = json.dumps(body).encode() if body is not None else None
    sent = {"Accept": "application/json", **({"Content-Type": "application/json"} if data else {}), **headers}
    request = urllib.request.Request(url, data=data, headers=sent, method=method)  # noqa: S310 (scheme checked)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            answer = json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as refused:
        raise ProviderError(provider, refused.code, _message(refused.read())) from None
    except (urllib.error.URLError, TimeoutError, OSError) as unreachable:
        raise ProviderError(provider, 0, f"unreachable: {getattr(unreachable, 'reason', unreachable)}") from None
    except ValueError:
        raise ProviderError(provider, 0, "answered something that is not JSON") from None
    if not isinstance(answer, dict):
        raise ProviderError(provider, 0, "answered JSON that is not an object")
    return answer


def _message(body: bytes) -> str:
    """The provider's error message from an error body, else its first 200 characters."""
    try:
        parsed = json.loads(body)
    except ValueError:
        return body[:200].decode(errors="replace") or "no message"
    if isinstance(parsed, dict):
        error = parsed.get("error") or parsed.get("message") or parsed.get("errors") or parsed
        if isinstance(error, dict):
            error = error.get("message") or error
        return str(error)[:200]
    return str(parsed)[:200]
