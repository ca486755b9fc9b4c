"""Customers through the HTTP API against the embedded AWS endpoint."""

from __future__ import annotations

import sys
import threading
import uuid

from billing.tenants import TenantService
from tests.integration.conftest import Api

JANE = {
    "external_id": "jane-1",
    "name": "Jane Doe",
    "email": "Jane@Example.com",
    "phone": "+14155550123",
    "currency": "USD",
    "address": {"country": "US", "region": "CA", "city": "SF", "line1": "1 Main St", "postal_code": "94105"},
    "billing_mode": "prepaid",
    "tags": ["vip"],
    "metadata": {"crm": "42"},
}


def count(api: Api, key: str, **query: str) -> int:
    params = "&".join(f"{k}={v}" for k, v in {"limit": "100", **query}.items())
    return len(api.get(f"/v1/customers?{params}", key).body["data"])


def test_create_read_update_archive(api: Api, key: str) -> None:
    created = api.post("/v1/customers", key, JANE)
    assert created.status == 201, created.body
    customer = created.body
    assert customer["id"].startswith("cus_") and customer["status"] == "active" and customer["livemode"] is False
    assert {k: customer[k] for k in JANE} == JANE

    assert api.get(f"/v1/customers/{customer['id']}", key).body == customer

    patched = api.patch(f"/v1/customers/{customer['id']}", key, {"name": "Jane D.", "phone": None})
    assert patched.status == 200
    assert (patched.body["name"], patched.body["phone"], patched.body["email"]) == ("Jane D.", None, JANE["email"])

    archived = api.delete(f"/v1/customers/{customer['id']}", key)
    assert archived.status == 200 and archived.body["status"] == "archived"
    assert api.get(f"/v1/customers/{customer['id']}", key).body["status"] == "archived"
    assert api.patch(f"/v1/customers/{customer['id']}", key, {"name": "x"}).status == 422


def test_list_pages_and_filters(api: Api, key: str) -> None:
    created = [
        api.post("/v1/customers", key, {"name": f"c{i}", "email": f"c{i % 2}@example.com"}).body for i in range(5)
    ]
    ids = [c["id"] for c in created]
    newest_first = sorted(ids, reverse=True)  # ids made in the same millisecond tie-break at random
    first = api.get("/v1/customers?limit=2", key).body
    assert first["object"] == "list" and first["has_more"] is True
    assert [c["id"] for c in first["data"]] == newest_first[:2]
    rest = api.get(f"/v1/customers?limit=10&starting_after={first['data'][-1]['id']}", key).body
    assert [c["id"] for c in rest["data"]] == newest_first[2:] and rest["has_more"] is False

    ones = sorted((c["id"] for c in created if c["email"] == "c1@example.com"), reverse=True)
    by_email = api.get("/v1/customers?email=C1@example.com&limit=1", key).body
    assert [c["id"] for c in by_email["data"]] == ones[:1] and by_email["has_more"] is True
    after = api.get(f"/v1/customers?email=c1@example.com&starting_after={ones[0]}", key).body
    assert [c["id"] for c in after["data"]] == ones[1:] and after["has_more"] is False

    api.post("/v1/customers", key, {"external_id": "ext-9"})
    by_external = api.get("/v1/customers?external_id=ext-9", key).body["data"]
    assert [c["external_id"] for c in by_external] == ["ext-9"]

    api.delete(f"/v1/customers/{ids[0]}", key)
    api.delete(f"/v1/customers/{ids[1]}", key)
    assert not {ids[0], ids[1]} & {c["id"] for c in api.get("/v1/customers?limit=100", key).body["data"]}
    archived = sorted([ids[0], ids[1]], reverse=True)
    page = api.get("/v1/customers?status=archived&limit=1", key).body
    assert [c["id"] for c in page["data"]] == archived[:1] and page["has_more"] is True
    page = api.get(f"/v1/customers?status=archived&starting_after={archived[0]}", key).body
    assert [c["id"] for c in page["data"]] == archived[1:] and page["has_more"] is False
    active = api.get("/v1/customers?status=active&limit=100", key).body["data"]
    assert len(active) == 4 and all(c["status"] == "active" for c in active)
    assert ids[1] not in [c["id"] for c in api.get("/v1/customers?email=c1@example.com", key).body["data"]]


def test_bad_input_is_400_naming_the_field_and_writes_nothing(api: Api, key: str) -> None:
    before = count(api, key)
    for body, param in [
        ({"email": "nope"}, "email"),
        ({"address": {"country": "usa"}}, "address.country"),
        ({"tags": ["a", 7]}, "tags[1]"),
        ({"unknown": 1}, "unknown"),
    ]:
        reply = api.post("/v1/customers", key, body)
        assert reply.status == 400, body
        assert reply.body["error"]["param"] == param
        assert reply.body["error"]["type"] == "invalid_request_error"
    reply = api.post("/v1/customers", key, b"{not json")
    assert reply.status == 400 and reply.body["error"]["code"] == "body_invalid"
    reply = api.get("/v1/customers?limit=1000", key)
    assert reply.status == 400 and reply.body["error"]["param"] == "limit"
    reply = api.get("/v1/customers?colour=red", key)
    assert reply.status == 400 and reply.body["error"]["param"] == "colour"
    assert count(api, key) == before


def test_external_id_is_unique_even_under_concurrent_creates(api: Api, key: str) -> None:
    results: list[int] = []

    def create() -> None:
        results.append(api.post("/v1/customers", key, {"external_id": "race-1"}).status)

    threads = [threading.Thread(target=create) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [201] + [409] * 7
    assert count(api, key, external_id="race-1") == 1


def test_changing_external_id_frees_the_old_one(api: Api, key: str) -> None:
    first = api.post("/v1/customers", key, {"external_id": "old"}).body
    api.post("/v1/customers", key, {"external_id": "taken"})
    conflict = api.patch(f"/v1/customers/{first['id']}", key, {"external_id": "taken"})
    assert conflict.status == 409 and conflict.body["error"]["param"] == "external_id"
    assert api.patch(f"/v1/customers/{first['id']}", key, {"external_id": "new"}).status == 200
    assert api.post("/v1/customers", key, {"external_id": "old"}).status == 201


def test_tenants_cannot_see_each_others_customers(api: Api, key: str, other_key: str) -> None:
    mine = api.post("/v1/customers", key, {"external_id": "secret", "email": "secret@example.com"}).body
    path = f"/v1/customers/{mine['id']}"
    for reply in (
        api.get(path, other_key),
        api.patch(path, other_key, {"name": "stolen"}),
        api.delete(path, other_key),
    ):
        assert reply.status == 404 and reply.body["error"]["type"] == "not_found_error"
    assert api.get("/v1/customers?external_id=secret", other_key).body["data"] == []
    assert api.get("/v1/customers?email=secret@example.com", other_key).body["data"] == []
    assert mine["id"] not in [c["id"] for c in api.get("/v1/customers?limit=100", other_key).body["data"]]
    assert api.post("/v1/customers", other_key, {"external_id": "secret"}).status == 201
    assert api.get(path, key).body["name"] is None  # untouched by the other tenant


def test_test_and_live_mode_data_are_separate(api: Api, tenants: TenantService) -> None:
    tenant, test_key = tenants.create_tenant("Two modes")
    live_key = tenants.create_key(tenant.id, livemode=True).secret
    test_customer = api.post("/v1/customers", test_key.secret, {"external_id": "x"}).body
    assert test_customer["livemode"] is False
    assert api.get(f"/v1/customers/{test_customer['id']}", live_key).status == 404
    live_customer = api.post("/v1/customers", live_key, {"external_id": "x"}).body
    assert live_customer["livemode"] is True


def test_idempotency_key_replays_and_conflicts(api: Api, key: str) -> None:
    idem = str(uuid.uuid4())
    first = api.post("/v1/customers", key, {"name": "Once"}, idempotency_key=idem)
    again = api.post("/v1/customers", key, {"name": "Once"}, idempotency_key=idem)
    assert first.status == again.status == 201 and first.body == again.body
    assert count(api, key) == 1
    other = api.post("/v1/customers", key, {"name": "Other"}, idempotency_key=idem)
    assert other.status == 409 and other.body["error"]["code"] == "idempotency_key_reused"
    assert count(api, key) == 1


def test_a_rejected_request_does_not_burn_its_idempotency_key(api: Api, key: str) -> None:
    idem = str(uuid.uuid4())
    assert api.post("/v1/customers", key, {"email": "bad"}, idempotency_key=idem).status == 400
    assert api.post("/v1/customers", key, {"email": "good@example.com"}, idempotency_key=idem).status == 201


def test_concurrent_retries_with_one_key_create_one_customer(api: Api, key: str) -> None:
    idem = str(uuid.uuid4())
    replies = []

    def send() -> None:
        replies.append(api.post("/v1/customers", key, {"name": "Parallel"}, idempotency_key=idem))

    threads = [threading.Thread(target=send) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    created = {r.body["id"] for r in replies if r.status == 201}
    assert len(created) == 1
    assert all(r.status in (201, 409) for r in replies)
    assert count(api, key) == 1


def test_concurrent_requests_of_two_tenants_never_mix(api: Api, key: str, other_key: str) -> None:
    """One process serves requests on many threads; each must keep its own tenant."""
    mine = api.post("/v1/customers", key, {"name": "mine"}).body["id"]
    theirs = api.post("/v1/customers", other_key, {"name": "theirs"}).body["id"]
    statuses: list[int] = []

    def read(k: str, customer_id: str) -> None:
        for _ in range(40):
            statuses.append(api.get(f"/v1/customers/{customer_id}", k).status)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=read, args=(k, c)) for k, c in [(key, mine), (other_key, theirs)] * 4]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert statuses == [200] * 320
