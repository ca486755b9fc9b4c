"""The environment, read into validated models: the platform's, and each function's own."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from billing.settings import FunctionSettings, PublicBaseUrl, QueueUrl, ResourceName, Settings, SettingsError


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


class Example(FunctionSettings):
    billing_table: ResourceName
    invoice_run_queue_url: QueueUrl
    public_base_url: PublicBaseUrl | None = None


def test_a_function_reads_its_variables_by_name() -> None:
    queue = "https://sqs.eu-west-1.amazonaws.com/123456789012/runs"
    loaded = Example.load({"BILLING_TABLE": "billing", "INVOICE_RUN_QUEUE_URL": queue, "OTHER": "ignored"})
    assert (loaded.billing_table, loaded.invoice_run_queue_url, loaded.public_base_url) == ("billing", queue, None)
    assert Example.variables() == {"BILLING_TABLE", "INVOICE_RUN_QUEUE_URL", "PUBLIC_BASE_URL"}


def test_every_problem_of_a_function_environment_is_named_at_once() -> None:
    with pytest.raises(SettingsError) as refused:
        Example.load({"BILLING_TABLE": "", "INVOICE_RUN_QUEUE_URL": "runs", "PUBLIC_BASE_URL": "example.com"})
    message = str(refused.value)
    assert message.startswith("Example (template.yaml): ")
    assert "BILLING_TABLE is not set" in message  # empty: as CloudFormation gives an empty parameter
    assert "INVOICE_RUN_QUEUE_URL: " in message
    assert "PUBLIC_BASE_URL: " in message
