"""Customer rules: validation names the field, external ids are unique, archiving keeps the record."""

from __future__ import annotations

from typing import Any

import pytest

from billing.customers import CustomerCreate, CustomerQuery, CustomerService, CustomerUpdate
from billing.errors import BillingError, Conflict, DomainRuleViolation, InvalidRequest, NotFound
from billing.scope import Scope
from billing.validation import parse
from tests.unit.clock import FrozenClock
from tests.unit.fakes import MemoryCustomers

SCOPE = Scope("ten_a", livemode=False)
OTHER = Scope("ten_b", livemode=False)


@pytest.fixture
def repo() -> MemoryCustomers:
    return MemoryCustomers()


@pytest.fixture
def service(repo: MemoryCustomers) -> CustomerService:
    return CustomerService(repo, FrozenClock())


def test_create_returns_the_public_shape(service: CustomerService, repo: MemoryCustomers) -> None:
    customer = service.create(
        SCOPE,
        parse(
            CustomerCreate,
            {"external_id": "c-1", "name": "Jane", "email": "jane@example.com", "currency": "EUR", "tags": ["vip"]},
        ),
    )
    public = customer.to_public()
    assert public["id"].startswith("cus_") and public["object"] == "customer"
    assert public["billing_mode"] == "postpaid" and public["status"] == "active"
    assert public["created_at"] == "2026-01-15T12:00:00Z"
    assert [event.type for event in repo.events] == ["CustomerCreated"]
    assert repo.events[0].data["object"] == public


@pytest.mark.parametrize(
    ("body", "param", "code"),
    [
        ({"email": "not-an-email"}, "email", "parameter_invalid"),
        ({"phone": "0151 123"}, "phone", "parameter_invalid"),
        ({"phone": "+0123"}, "phone", "parameter_invalid"),
        ({"currency": "usd"}, "currency", "parameter_invalid"),
        ({"currency": "XXY"}, "currency", "parameter_invalid"),
        ({"billing_mode": "weekly"}, "billing_mode", "parameter_invalid"),
        ({"address": {"country": "Germany"}}, "address.country", "parameter_invalid"),
        ({"address": {"planet": "Mars"}}, "address.planet", "parameter_unknown"),
        ({"tags": ["ok", ""]}, "tags[1]", "parameter_invalid"),
        ({"tags": "vip"}, "tags", "parameter_invalid"),
        ({"metadata": {"k": 1}}, "metadata.k", "parameter_invalid"),
        ({"metadata": {f"k{i}": "v" for i in range(51)}}, "metadata", "parameter_invalid"),
        ({"name": 42}, "name", "parameter_invalid"),
        ({"name": "x" * 201}, "name", "parameter_invalid"),
        ({"external_id": "has space"}, "external_id", "parameter_invalid"),
        ({"balance": 10}, "balance", "parameter_unknown"),
        ({"status": "suspended"}, "status", "parameter_unknown"),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(
    service: CustomerService, repo: MemoryCustomers, body: dict[str, Any], param: str, code: str
) -> None:
    with pytest.raises(InvalidRequest) as refused:
        service.create(SCOPE, parse(CustomerCreate, body))
    assert (refused.value.param, refused.value.code) == (param, code)
    assert param in refused.value.message
    assert repo.rows == {} and repo.events == []


def test_a_body_that_is_not_an_object_is_refused(service: CustomerService) -> None:
    with pytest.raises(InvalidRequest) as refused:
        service.create(SCOPE, parse(CustomerCreate, ["name"]))
    assert refused.value.code == "body_invalid"


def test_external_ids_are_unique_per_tenant_only(service: CustomerService) -> None:
    service.create(SCOPE, parse(CustomerCreate, {"external_id": "c-1"}))
    with pytest.raises(Conflict):
        service.create(SCOPE, parse(CustomerCreate, {"external_id": "c-1"}))
    assert service.create(OTHER, parse(CustomerCreate, {"external_id": "c-1"})).external_id == "c-1"


def test_other_tenants_customers_are_not_found(service: CustomerService) -> None:
    customer = service.create(SCOPE, parse(CustomerCreate, {"name": "Jane"}))
    for action in (
        lambda: service.get(OTHER, customer.id),
        lambda: service.update(OTHER, customer.id, parse(CustomerUpdate, {"name": "x"})),
        lambda: service.archive(OTHER, customer.id),
    ):
        with pytest.raises(NotFound):
            action()
    assert service.list(OTHER, CustomerQuery.from_params({})).data == []


def test_update_changes_only_what_was_sent_and_null_clears(service: CustomerService, repo: MemoryCustomers) -> None:
    customer = service.create(
        SCOPE, parse(CustomerCreate, {"name": "Jane", "email": "j@example.com", "phone": "+4915112345678"})
    )
    updated = service.update(SCOPE, customer.id, parse(CustomerUpdate, {"email": "new@example.com", "phone": None}))
    assert (updated.name, updated.email, updated.phone) == ("Jane", "new@example.com", None)
    assert updated.version == customer.version + 1
    event = repo.events[-1]
    assert event.type == "CustomerUpdated"
    assert event.data["previous_attributes"] == {"email": "j@example.com", "phone": "+4915112345678"}


def test_an_update_that_changes_nothing_writes_nothing(service: CustomerService, repo: MemoryCustomers) -> None:
    customer = service.create(SCOPE, parse(CustomerCreate, {"name": "Jane"}))
    assert service.update(SCOPE, customer.id, parse(CustomerUpdate, {"name": "Jane"})) == customer
    assert len(repo.events) == 1


@pytest.mark.parametrize("field", ["billing_mode", "tags", "metadata"])
def test_fields_with_defaults_cannot_be_nulled(service: CustomerService, field: str) -> None:
    customer = service.create(SCOPE, parse(CustomerCreate, {}))
    with pytest.raises(InvalidRequest) as refused:
        service.update(SCOPE, customer.id, parse(CustomerUpdate, {field: None}))
    assert refused.value.param == field


def test_archiving_keeps_the_customer_and_freezes_it(service: CustomerService, repo: MemoryCustomers) -> None:
    customer = service.create(SCOPE, parse(CustomerCreate, {"external_id": "c-1"}))
    archived = service.archive(SCOPE, customer.id)
    assert archived.status == "archived"
    assert service.get(SCOPE, customer.id).status == "archived"
    assert service.archive(SCOPE, customer.id) == archived  # archiving twice is harmless
    with pytest.raises(DomainRuleViolation):
        service.update(SCOPE, customer.id, parse(CustomerUpdate, {"name": "x"}))
    assert service.list(SCOPE, CustomerQuery.from_params({})).data == []
    assert [c.id for c in service.list(SCOPE, CustomerQuery.from_params({"status": "archived"})).data] == [customer.id]
    assert [event.type for event in repo.events] == ["CustomerCreated", "CustomerArchived"]


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"limit": "x"}, "limit"),
        ({"starting_after": "inv_1"}, "starting_after"),
        ({"status": "gone"}, "status"),
    ],
)
def test_list_parameters_are_validated(service: CustomerService, params: dict[str, str], param: str) -> None:
    with pytest.raises(BillingError) as refused:
        service.list(SCOPE, CustomerQuery.from_params(params))
    assert refused.value.param == param


def test_list_pages_newest_first(service: CustomerService) -> None:
    clock = FrozenClock()
    service = CustomerService(MemoryCustomers(), clock)
    created = []
    for i in range(5):
        created.append(service.create(SCOPE, parse(CustomerCreate, {"name": f"c{i}"})).id)
        clock.advance(seconds=1)
    first = service.list(SCOPE, CustomerQuery.from_params({"limit": "2"}))
    assert [c.id for c in first.data] == created[::-1][:2] and first.has_more
    rest = service.list(SCOPE, CustomerQuery.from_params({"limit": "10", "starting_after": first.data[-1].id}))
    assert [c.id for c in rest.data] == created[::-1][2:] and not rest.has_more
