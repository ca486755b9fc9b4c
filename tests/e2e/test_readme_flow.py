"""The README walkthrough over real HTTP: tenant, customers, and a second tenant locked out."""

from __future__ import annotations

import json
import uuid

import requests

from tests.conftest import Running


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_demo_tenant_has_customers(running: Running) -> None:
    for external_id in ("acme-001", "household-17", "tokyo-42"):
        listed = requests.get(
            f"{running.url}/v1/customers?external_id={external_id}", headers=bearer(running.demo_key), timeout=10
        )
        assert listed.status_code == 200 and listed.headers["X-Request-Id"]
        assert [c["external_id"] for c in listed.json()["data"]] == [external_id]


def test_walkthrough(running: Running) -> None:
    first = json.loads(running.billing("tenant", "create", "--name", "Readme Co", "--json"))
    second = json.loads(running.billing("tenant", "create", "--name", "Nosy Co", "--json"))

    created = requests.post(
        f"{running.url}/v1/customers",
        headers={**bearer(first["api_key"]), "Idempotency-Key": str(uuid.uuid4())},
        json={"external_id": "cust-1", "name": "Jane Doe", "email": "jane@example.com", "currency": "USD"},
        timeout=10,
    )
    assert created.status_code == 201, created.text
    customer = created.json()

    listed = requests.get(f"{running.url}/v1/customers", headers=bearer(first["api_key"]), timeout=10).json()
    assert [c["id"] for c in listed["data"]] == [customer["id"]]

    nosy = requests.get(f"{running.url}/v1/customers/{customer['id']}", headers=bearer(second["api_key"]), timeout=10)
    assert nosy.status_code == 404 and nosy.json()["error"]["type"] == "not_found_error"
    assert (
        requests.get(f"{running.url}/v1/customers", headers=bearer(second["api_key"]), timeout=10).json()["data"] == []
    )

    anonymous = requests.get(f"{running.url}/v1/customers", timeout=10)
    assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == "missing_api_key"
