"""The browser tests' API: served over HTTP from this process (the embedded stack's server),
where the stack's ``PUBLIC_BASE_URL`` points."""

from __future__ import annotations

import pytest

from infra.local.stack import EmbeddedStack


@pytest.fixture
def served(stack: EmbeddedStack) -> str:
    if stack._server is None:
        stack.serve_api()
    return stack.api_url
