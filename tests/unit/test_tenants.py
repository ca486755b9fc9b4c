"""Authentication: a key maps to its tenant and mode, or is refused with a 401 and a reason."""

from __future__ import annotations

import pytest

from billing.errors import InvalidRequest, NotFound, Unauthenticated
from billing.scope import Scope
from billing.tenant_settings import SettingsUpdate
from billing.tenants import TenantService
from tests.unit.fakes import MemoryTenants


@pytest.fixture
def service() -> TenantService:
    return TenantService(MemoryTenants())


def test_a_new_tenant_gets_a_working_test_key(service: TenantService) -> None:
    tenant, issued = service.create_tenant("Acme")
    assert issued.secret.startswith("sk_test_")
    assert service.authenticate(f"Bearer {issued.secret}") == Scope(tenant.id, livemode=False)


def test_live_keys_act_in_live_mode(service: TenantService) -> None:
    tenant, _ = service.create_tenant("Acme")
    live = service.create_key(tenant.id, livemode=True)
    assert service.authenticate(f"Bearer {live.secret}") == Scope(tenant.id, livemode=True)


@pytest.mark.parametrize(
    ("header", "code"),
    [
        (None, "missing_api_key"),
        ("", "missing_api_key"),
        ("Token abc", "missing_api_key"),
        ("Bearer nope", "invalid_api_key"),
        ("Bearer sk_test_" + "a" * 43, "invalid_api_key"),
    ],
)
def test_bad_keys_are_refused(service: TenantService, header: str | None, code: str) -> None:
    with pytest.raises(Unauthenticated) as refused:
        service.authenticate(header)
    assert refused.value.code == code


def test_a_revoked_key_is_refused_and_others_keep_working(service: TenantService) -> None:
    tenant, first = service.create_tenant("Acme")
    second = service.create_key(tenant.id)
    service.revoke_key(tenant.id, first.key.id)
    with pytest.raises(Unauthenticated) as refused:
        service.authenticate(f"Bearer {first.secret}")
    assert refused.value.code == "api_key_revoked"
    assert service.authenticate(f"Bearer {second.secret}").tenant_id == tenant.id


def test_keys_of_another_tenant_cannot_be_revoked(service: TenantService) -> None:
    tenant, _ = service.create_tenant("Acme")
    _other, other_key = service.create_tenant("Other")
    with pytest.raises(NotFound):
        service.revoke_key(tenant.id, other_key.key.id)


def test_tenant_names_are_required(service: TenantService) -> None:
    with pytest.raises(InvalidRequest) as refused:
        service.create_tenant("   ")
    assert refused.value.param == "name"


def test_settings_are_kept_per_mode(service: TenantService) -> None:
    tenant, _ = service.create_tenant("Acme")
    test, live = Scope(tenant.id, livemode=False), Scope(tenant.id, livemode=True)
    service.update_settings(
        live, SettingsUpdate.model_validate({"invoice_prefix": "LIVE", "business_name": "Acme Inc."})
    )
    service.update_settings(test, SettingsUpdate.model_validate({"invoice_prefix": "SBX", "grace_period": 0}))
    assert (service.settings(live).invoice_prefix, service.settings(live).grace_period) == ("LIVE", 3600)
    assert service.settings(live).business_name == "Acme Inc."
    assert (service.settings(test).invoice_prefix, service.settings(test).business_name) == ("SBX", None)
