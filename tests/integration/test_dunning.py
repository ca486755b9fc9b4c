"""Dunning on the embedded endpoint: an unpaid invoice walked day by day on a test clock
through a policy (reminders, a late fee, interest under a changing fraction, suspension, the
final notice, payment and reinstatement, each told to the customer by email and SMS, read back
from the endpoint); runs that change nothing when repeated, and a missed quarter caught up at
once, down to the write-off and its undoing by a void."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from typing import Any

from billing.adapters import aws
from infra.local import sent
from infra.local.stack import EmbeddedStack
from tests.integration.conftest import Api

POLICY = {
    "steps": [
        {"days_after_due": -3, "action": "reminder"},
        {"days_after_due": 1, "action": "reminder"},
        {"days_after_due": 10, "action": "late_fee", "percent": "5"},
        {"days_after_due": 20, "action": "suspend"},
        {"days_after_due": 25, "action": "final_notice"},
        {"days_after_due": 90, "action": "mark_uncollectible"},
    ],
    "penalty_interest": {
        "annual_rate": "16",
        "schedule": [{"from_day": 5, "fraction": "1/300"}, {"from_day": 15, "fraction": "1/130"}],
    },
}
PRINCIPAL = 300_000  # 3,000.00 RUB


def interest_to(day: int) -> int:
    """Worked independently: 16% x 1/300 a day on days 5-14, x 1/130 from day 15, rounded once."""
    low = max(min(day, 14) - 4, 0)
    high = max(day - 14, 0)
    exact = PRINCIPAL * Fraction(16, 100) * (Fraction(low, 300) + Fraction(high, 130))
    return int((Decimal(exact.numerator) / Decimal(exact.denominator)).quantize(Decimal(1), ROUND_HALF_EVEN))


def overdue_invoice(api: Api, key: str, name: str, **contact: Any) -> tuple[str, str, date]:
    customer = api.post("/v1/customers", key, {"name": name, "currency": "RUB", **contact})
    assert customer.status == 201, customer.body
    sent = {"customer": customer.body["id"], "amount": PRINCIPAL, "currency": "RUB", "description": "Heating, March",
            "invoice_now": True}  # fmt: skip
    item = api.post("/v1/invoice_items", key, sent)
    assert item.status == 201, item.body
    invoice = api.get(f"/v1/invoices/{item.body['invoice']}", key).body
    return customer.body["id"], invoice["id"], date.fromisoformat(invoice["due_date"][:10])


def run(api: Api, key: str, day: date) -> dict[str, Any]:
    reply = api.post("/v1/dunning_runs", key, {"as_of": day.isoformat()})
    assert reply.status == 200, reply.body
    summary: dict[str, Any] = reply.body
    return summary


def items(api: Api, key: str, customer: str) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for item in api.get(f"/v1/invoice_items?customer={customer}", key).body["data"]:
        found.setdefault(item["kind"], []).append(item)
    return found


def test_an_unpaid_invoice_walks_through_the_policy_day_by_day(api: Api, key: str, stack: EmbeddedStack) -> None:
    assert api.request("PUT", "/v1/dunning_policy", key, POLICY).status == 200
    clock = api.post("/v1/test_clocks", key, {"frozen_time": "2026-03-01T09:00:00Z"}).body["id"]
    address, phone = f"{uuid.uuid4().hex[:10]}@example.com", f"+7999{uuid.uuid4().int % 10**7:07d}"
    contact = {"email": address, "phone": phone, "locale": "ru", "notification_channels": ["email", "sms"],
               "test_clock": clock}  # fmt: skip
    customer, invoice, due = overdue_invoice(api, key, "Должник", **contact)
    assert due == date(2026, 3, 15)  # issued on the clock's day, 14 days to pay

    def advance_to(n: int) -> None:  # an hour past the midnight that starts day n
        moment = f"{due + timedelta(days=n)}T01:00:00Z"
        assert api.post(f"/v1/test_clocks/{clock}/advance", key, {"to": moment}).status == 200

    advance_to(-4)
    assert items(api, key, customer).keys() == {"adjustment"}
    taken: list[tuple[int, str]] = []
    for n in range(-3, 26):
        before = {i["id"]: i for kind in items(api, key, customer).values() for i in kind}
        advance_to(n)
        kept = items(api, key, customer)
        taken += [(n, i["kind"]) for kind in kept.values() for i in kind if i["id"] not in before]
        if n >= 5:
            (interest,) = kept["penalty_interest"]  # one pending item, raised day by day
            assert (interest["amount"], interest["source_invoice"], interest["invoice"]) == (
                interest_to(n), invoice, None
            ), n  # fmt: skip
        else:
            assert "penalty_interest" not in kept, n  # nothing accrues before day 5
        if n == 10:
            (fee,) = kept["late_fee"]
            assert (fee["amount"], fee["invoice"]) == (PRINCIPAL * 5 // 100, None)  # 5% of the principal
        access = api.get(f"/v1/customers/{customer}/access", key).body
        assert access["allowed"] is (n < 20), n
    assert taken == [(5, "penalty_interest"), (10, "late_fee")]
    assert access == {"object": "customer_access", "customer": customer, "allowed": False,
                      "reason": "suspended_for_debt", "since": "2026-04-04T00:00:00Z"}  # fmt: skip
    assert api.get(f"/v1/customers/{customer}", key).body["status"] == "suspended"
    debt = api.get(f"/v1/customers/{customer}/debt", key).body
    assert (debt["principal"], debt["late_fees"], debt["penalty_interest"]) == (PRINCIPAL, 15_000, interest_to(25))

    notice = _document(f"notices/{invoice}/debt-notice.pdf")  # the final notice's PDF, with the debt broken down
    assert notice.startswith(b"%PDF-")

    paid = api.post(
        "/v1/payments", key, {"customer": customer, "amount": PRINCIPAL, "currency": "RUB", "channel": "bank_transfer"}
    )  # fmt: skip (on the clock's day 25)
    assert paid.status == 201, paid.body
    assert api.get(f"/v1/invoices/{invoice}", key).body["status"] == "paid"
    stack.plumbing.drain()  # InvoicePaid reaches the reinstatement worker
    access = api.get(f"/v1/customers/{customer}/access", key).body
    assert (access["allowed"], access["reason"]) == (True, None)
    assert api.get(f"/v1/customers/{customer}", key).body["status"] == "active"

    # every notice went out once, by email and SMS, in Russian; the final notice carries its PDF
    stack.plumbing.drain()
    logged = api.get(f"/v1/customers/{customer}/notifications?limit=100", key).body["data"]
    by_type = sorted((n["type"], n["channel"]) for n in logged if n["status"] == "sent")
    assert by_type == sorted((kind, channel) for channel in ("email", "sms") for kind in (
        "InvoiceFinalized", "InvoiceReminder", "InvoiceReminder", "LateFeeCharged", "CustomerSuspended",
        "InvoiceFinalNotice", "PaymentSucceeded", "CustomerReinstated"))  # fmt: skip
    mails = sent.emails(stack.endpoint_url, to=address)
    (final,) = [mail for mail in mails if any(name.startswith("debt") for name in mail.attachments())]
    assert list(final.attachments().values()) == [notice]
    assert len(sent.sms(stack.endpoint_url, to=phone)) == 8

    advance_to(40)  # paid: dunning ends, the interest stays what it was on the day of payment
    assert items(api, key, customer)["penalty_interest"][0]["amount"] == interest_to(25)
    assert api.get(f"/v1/customers/{customer}/access", key).body["allowed"] is True


def test_runs_change_nothing_twice_and_a_missed_quarter_is_caught_up_down_to_the_write_off(api: Api, key: str) -> None:
    assert api.request("PUT", "/v1/dunning_policy", key, {**POLICY, "late_fees": "own_invoice"}).status == 200
    customer, invoice, due = overdue_invoice(api, key, "Gone")

    assert run(api, key, due - timedelta(days=4))["invoices"] == 0  # no step yet: not even read
    assert run(api, key, due - timedelta(days=3))["steps"] == {"reminder": 1}
    assert run(api, key, due - timedelta(days=3))["steps"] == {}  # the same day again: nothing
    summary = run(api, key, due + timedelta(days=95))
    assert summary["steps"] == {
        "reminder": 1,
        "late_fee": 1,
        "suspend": 1,
        "final_notice": 1,
        "mark_uncollectible": 1,
    }  # fmt: skip (the reminder before due is dropped)
    written_off = api.get(f"/v1/invoices/{invoice}", key).body
    assert (written_off["status"], written_off["amount_due"]) == ("uncollectible", 0)
    fee = items(api, key, customer)["late_fee"][0]
    own = api.get(f"/v1/invoices/{fee['invoice']}", key).body  # the late fee on an invoice of its own
    assert (own["status"], own["total"], [line["type"] for line in own["lines"]]) == ("open", 15_000, ["late_fee"])
    assert "penalty_interest" not in items(api, key, customer)  # written off first: no interest after

    accounts = api.get(f"/v1/customers/{customer}/ledger", key).body["balances"]
    assert accounts["receivable"] == 15_000  # only the late fee's invoice is still receivable
    assert accounts["write_off"] == PRINCIPAL
    assert own["issued_at"] == f"{due + timedelta(days=95)}T00:00:00Z"  # issued by the run, not dated back
    assert run(api, key, due + timedelta(days=95))["steps"] == {}
    # the fee's own invoice is dunned once it is overdue, but takes no fee of its own
    later = run(api, key, due + timedelta(days=95 + 14 + 10))["steps"]
    assert later == {"reminder": 1, "late_fee": 1}
    assert len(items(api, key, customer)["late_fee"]) == 1

    # voiding the written-off invoice takes its write-off back with it
    assert api.post(f"/v1/invoices/{invoice}/void", key).body["status"] == "void"
    accounts = api.get(f"/v1/customers/{customer}/ledger", key).body["balances"]
    assert (accounts["receivable"], accounts.get("write_off", 0)) == (15_000, 0)


def test_a_live_run_never_runs_ahead_and_bad_dates_name_the_field(api: Api, key: str) -> None:
    assert run(api, key, date(2026, 1, 1))["invoices"] == 0  # no policy: nothing to do
    bad = api.post("/v1/dunning_runs", key, {"as_of": "someday"})
    assert (bad.status, bad.body["error"]["param"]) == (400, "as_of")
    assert api.get("/v1/customers/cus_nope/access", key).status == 404


def _document(suffix: str) -> bytes:
    from billing.settings import get_settings

    bucket = get_settings().documents_bucket
    s3 = aws.client("s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", []) if o["Key"].endswith(suffix)]
    assert len(keys) == 1, keys
    body: bytes = s3.get_object(Bucket=bucket, Key=keys[0])["Body"].read()
    return body


def test_the_daily_job_fans_out_per_shard_and_its_worker_takes_the_steps(
    api: Api, key: str, stack: EmbeddedStack
) -> None:
    policy = {"steps": [{"days_after_due": -14, "action": "reminder"}]}  # due today: issued today, 14 days to pay
    assert api.request("PUT", "/v1/dunning_policy", key, policy).status == 200
    customer, _, due = overdue_invoice(api, key, "Daily", email=f"{uuid.uuid4().hex[:10]}@example.com")
    assert stack.plumbing is not None
    (daily,) = [s for s in stack.plumbing.schedules if "Dunning" in s.name]
    assert daily.fire()["messages"] >= 16  # this tenant's test mode, one per shard (and other tenants')
    stack.plumbing.drain()
    logged = api.get(f"/v1/customers/{customer}/notifications", key).body["data"]
    assert sorted(n["type"] for n in logged) == ["InvoiceFinalized", "InvoiceReminder"]
    assert run(api, key, due - timedelta(days=14))["steps"] == {}  # done once, by the worker


def test_voiding_an_invoice_voids_the_fees_and_interest_still_pending_for_it(api: Api, key: str) -> None:
    assert api.request("PUT", "/v1/dunning_policy", key, POLICY).status == 200
    customer, invoice, due = overdue_invoice(api, key, "Billed in error")
    run(api, key, due + timedelta(days=12))
    pending = items(api, key, customer)
    assert (pending["late_fee"][0]["amount"], pending["penalty_interest"][0]["amount"]) == (15_000, interest_to(12))
    assert api.post(f"/v1/invoices/{invoice}/void", key).body["status"] == "void"
    voided = items(api, key, customer)
    assert all(i["voided_at"] for kind in ("late_fee", "penalty_interest") for i in voided[kind])
    assert all(i["voided_at"] is None for i in voided["adjustment"])
    debt = api.get(f"/v1/customers/{customer}/debt", key).body
    assert (debt["late_fees"], debt["penalty_interest"], debt["total"]) == (0, 0, 0)
