"""The platform's environment, read once into a validated model."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from billing.settings import Settings


@pytest.mark.parametrize(
    ("given", "kept"),
    [("https://billing.example.com/", "https://billing.example.com"), ("http://127.0.0.1:3000", "http://127.0.0.1:3000"),
     ("https://abc.execute-api.eu-west-1.amazonaws.com/prod", "https://abc.execute-api.eu-west-1.amazonaws.com/prod")],
)  # fmt: skip
def test_the_public_base_url_is_kept_without_a_trailing_slash(given: str, kept: str) -> None:
    assert Settings(table_name="t", public_base_url=given).public_base_url == kept


@pytest.mark.parametrize("bad", ["billing.example.com", "ftp://x.example", "https://", "https://x.example/?a=1"])
def test_a_public_base_url_that_is_no_http_url_is_refused(bad: str) -> None:
    with pytest.raises(ValidationError, match="PUBLIC_BASE_URL"):
        Settings(table_name="t", public_base_url=bad)


def test_the_public_base_url_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BILLING_TABLE", "billing")
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://pay.example.com")
    assert Settings.from_env().public_base_url == "https://pay.example.com"
    monkeypatch.setenv("PUBLIC_BASE_URL", "")
    assert Settings.from_env().public_base_url is None
