"""What the API function imports at cold start (``bench/cold_start.py`` times it; this pins it).

The API, usage ingestion and authorizer functions import the same app, each serving only some
routes: the tenants load with it (every request is authenticated), every other service's
domain on first use (``billing.adapters.services``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bench.cold_start import HEAVY
from infra import template

API_DIR = Path(__file__).resolve().parents[2] / "functions" / "api"

# A fresh interpreter as Lambda starts one: the function's folder first on the path.
CHILD = """
import json, sys
sys.path.insert(0, sys.argv[1])
import app
loaded = sorted(name for name in sys.modules if name.startswith("billing"))
top = list(dict.fromkeys(name.partition(".")[0] for name in sys.modules))  # in import order
from billing.adapters import services
built = [name for name, factory in vars(services).items() if hasattr(factory, "cache_info") and factory()]
print(json.dumps({"loaded": loaded, "top": top, "built": built}))
"""

NOT_AT_COLD_START = HEAVY  # boto3, test, template and provider libraries (bench/cold_start.py says why each)

ON_FIRST_USE = (
    "billing.catalog",
    "billing.collections",
    "billing.customers",
    "billing.invoicing",
    "billing.ledger",
    "billing.pricing",
    "billing.subscriptions",
    "billing.testclocks",
    "billing.usage",
    "billing.webhooks_out",
)


def _import_app() -> dict[str, list[str]]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "PYTHON"))}
    env.update(template.placeholder_environment("ApiFunction"), AWS_REGION="us-east-1")
    done = subprocess.run(
        [sys.executable, "-I", "-c", CHILD, str(API_DIR)], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, list[str]] = json.loads(done.stdout)
    return result


def test_the_app_loads_the_tenants_and_each_other_domain_on_first_use() -> None:
    result = _import_app()
    assert "billing.tenants" in result["loaded"]
    early = [name for name in result["loaded"] if name.startswith(ON_FIRST_USE)]
    assert early == []
    assert {"tenants", "customers", "catalog", "usage_ingest", "invoices", "documents"} <= set(result["built"])


def test_the_app_imports_no_library_it_does_not_need_at_cold_start() -> None:
    result = _import_app()
    assert "botocore" in result["top"]
    assert [name for name in NOT_AT_COLD_START if name in result["top"]] == []


def test_the_app_imports_botocore_before_the_other_libraries() -> None:
    """In this order the import takes about 13% less CPU time (``app.py`` says why)."""
    top = _import_app()["top"]
    assert top.index("botocore") < min(top.index(name) for name in ("pydantic", "aws_lambda_powertools", "chalice"))
