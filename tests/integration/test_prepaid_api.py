"""Prepaid charging through the HTTP API against the embedded endpoint: a prepaid customer's
events debit its balance the moment they are ingested, once per transaction id; threads that
authorize and send events at once never overdraw; a refused event is a 402 with nothing
stored; the balance's low and exhausted notices go through the outbox; the statement invoice
bills the debited usage once and is paid from the balance."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from billing.adapters.dynamodb import outbox, table
from billing.adapters.dynamodb.usage_events import DynamoUsageEventStore
from billing.scope import Scope
from infra.local.stack import EmbeddedStack
from tests.integration.conftest import Api

JAN = "2026-01-01T00:00:00Z"


def ago(**delta: float) -> str:
    return (datetime.now(UTC) - timedelta(**delta)).strftime("%Y-%m-%dT%H:%M:%SZ")


def tariff(api: Api, key: str, base_fee: int = 0) -> None:
    assert api.post("/v1/meters", key, {"code": "calls", "name": "Calls", "aggregation": "count"}).status == 201
    meter = {"code": "secs", "name": "Seconds", "aggregation": "sum", "field": "s"}
    assert api.post("/v1/meters", key, meter).status == 201
    tiers = [{"up_to": 10, "unit_amount": "5"}, {"up_to": None, "unit_amount": "2"}]
    charges = [
        {"meter": "calls", "model": "per_unit", "unit_amount": "10"},
        {"meter": "secs", "model": "graduated", "tiers": tiers},
    ]
    plan = {"code": "pp", "name": "Prepaid", "currency": "USD", "interval": "month", "base_fee": base_fee,
            "charges": charges}  # fmt: skip
    assert api.post("/v1/plans", key, plan).status == 201


def prepaid_customer(api: Api, key: str, top_up: int, **extra: Any) -> str:
    body = {"name": "Prepaid Co", "billing_mode": "prepaid", **extra}
    customer = api.post("/v1/customers", key, body).body["id"]
    start = {"start_date": ago(days=2)} if "test_clock" not in extra else {}
    assert api.post("/v1/subscriptions", key, {"customer": customer, "plan": "pp", **start}).status == 201
    if top_up:
        paid = {"customer": customer, "amount": top_up, "currency": "USD", "channel": "cash_desk"}
        assert api.post("/v1/payments", key, paid).status == 201
    return customer


def call(txid: str, customer: str, **extra: Any) -> dict[str, Any]:
    return {"transaction_id": txid, "customer": customer, "code": "calls", **extra}


def prepaid(api: Api, key: str, customer: str) -> dict[str, Any]:
    reply = api.get(f"/v1/customers/{customer}/balance", key)
    assert reply.status == 200, reply.body
    found: dict[str, Any] = reply.body["prepaid"]
    return found


def scope_of(key: str, stack: EmbeddedStack) -> Scope:
    """The scope a key acts for (the stack's environment is the adapters')."""
    from billing.adapters.services import tenants

    return tenants().authenticate(f"Bearer {key}")


def test_events_debit_the_balance_at_once_and_duplicates_debit_once(api: Api, key: str) -> None:
    tariff(api, key)
    customer = prepaid_customer(api, key, 1000)
    assert prepaid(api, key, customer) == {"currency": "USD", "balance": 1000, "unbilled_usage": 0,
                                           "low_balance_threshold": None, "at_zero": "refuse"}  # fmt: skip
    assert api.post("/v1/events", key, call("c-1", customer)).status == 202
    assert prepaid(api, key, customer)["balance"] == 990  # no stream, no aggregator: at once
    again = api.post("/v1/events", key, call("c-1", customer))
    assert (again.status, again.body["status"]) == (200, "duplicate")
    secs = {"transaction_id": "s-1", "customer": customer, "code": "secs", "properties": {"s": 12}}
    batch = api.post("/v1/events/batch", key, {"events": [call("c-1", customer), call("c-2", customer), secs]})
    assert (batch.body["accepted"], batch.body["duplicates"]) == (2, 1), batch.body
    assert prepaid(api, key, customer) == {"currency": "USD", "balance": 990 - 10 - (50 + 4), "unbilled_usage": 74,
                                           "low_balance_threshold": None, "at_zero": "refuse"}  # fmt: skip
    balance = api.get(f"/v1/customers/{customer}/balance", key).body
    assert balance["customer_credit"] == 1000  # nothing posted per event: the credit is billed by the statement


def test_a_refused_event_is_a_402_and_nothing_is_stored(api: Api, key: str, stack: EmbeddedStack) -> None:
    tariff(api, key)
    customer = prepaid_customer(api, key, 15)
    assert api.post("/v1/events", key, call("r-1", customer)).status == 202
    refused = api.post("/v1/events", key, call("r-2", customer))
    assert refused.status == 402, refused.body
    assert refused.body["error"]["code"] == "insufficient_balance" and "'r-2'" in refused.body["error"]["message"]
    assert not DynamoUsageEventStore().existing(scope_of(key, stack), ["r-2"])
    assert prepaid(api, key, customer)["balance"] == 5
    batch = api.post("/v1/events/batch", key, {"events": [call("r-3", customer)]}).body
    assert batch["accepted"] == 0 and batch["rejected"][0]["error"]["code"] == "insufficient_balance"


def test_authorize_prices_usage_and_says_whether_the_balance_covers_it(api: Api, key: str) -> None:
    tariff(api, key)
    customer = prepaid_customer(api, key, 100)
    assert api.post("/v1/events", key, {"transaction_id": "a-1", "customer": customer, "code": "secs",
                                         "properties": {"s": 8}}).status == 202  # fmt: skip
    answer = api.post(f"/v1/customers/{customer}/authorize", key, {"meter": "secs", "quantity": 5})
    assert answer.status == 200, answer.body
    assert {k: answer.body[k] for k in ("allowed", "amount", "balance", "balance_after")} == {
        "allowed": True, "amount": 2 * 5 + 3 * 2, "balance": 60, "balance_after": 44}  # fmt: skip
    too_much = api.post(f"/v1/customers/{customer}/authorize", key, {"meter": "calls", "quantity": "7"}).body
    assert (too_much["allowed"], too_much["amount"], too_much["balance_after"]) == (False, 70, -10)
    bad = api.post(f"/v1/customers/{customer}/authorize", key, {"meter": "calls", "quantity": -1})
    assert (bad.status, bad.body["error"]["param"]) == (400, "quantity")
    assert prepaid(api, key, customer)["balance"] == 60  # nothing reserved


def test_threads_authorizing_and_sending_never_overdraw(api: Api, key: str, stack: EmbeddedStack) -> None:
    tariff(api, key)
    customer = prepaid_customer(api, key, 500)
    sent: list[str] = []
    refused: list[str] = []
    lock = threading.Lock()

    def spend(worker: int) -> None:
        for n in range(15):
            txid = f"t{worker}-{n}"
            if not api.post(f"/v1/customers/{customer}/authorize", key, {"meter": "calls", "quantity": 1}).body[
                "allowed"
            ]:
                with lock:
                    refused.append(txid)
                continue
            reply = api.post("/v1/events", key, call(txid, customer))
            with lock:
                (sent if reply.status == 202 else refused).append(txid)
            assert reply.status in (202, 402), reply.body

    threads = [threading.Thread(target=spend, args=(worker,)) for worker in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(sent) == 50 and len(refused) == 25
    assert prepaid(api, key, customer) == {"currency": "USD", "balance": 0, "unbilled_usage": 500,
                                           "low_balance_threshold": None, "at_zero": "refuse"}  # fmt: skip
    stored = DynamoUsageEventStore().existing(scope_of(key, stack), sent + refused)
    assert stored == set(sent)


def notices(stack: EmbeddedStack, scope: Scope) -> list[tuple[str, dict[str, Any]]]:
    """The balance notices in the outbox of ``scope`` (the records the stream publisher reads)."""
    found = []
    for page in table.client().get_paginator("scan").paginate(TableName=table.table_name()):
        for raw in page["Items"]:
            item = table.decode(raw)
            if item.get("entity") == outbox.ENTITY and item["tenant_id"] == scope.tenant_id:
                found += [(e.type, e.data) for e in outbox.from_item(item) if e.type.startswith("CustomerBalance")]
    return found


def test_suspend_emits_low_and_exhausted_notices_once(api: Api, key: str, stack: EmbeddedStack) -> None:
    tariff(api, key)
    settings = api.patch("/v1/settings", key, {"prepaid_at_zero": "suspend", "prepaid_low_balance_threshold": 25})
    assert settings.status == 200 and settings.body["prepaid_at_zero"] == "suspend", settings.body
    customer = prepaid_customer(api, key, 40)
    for n in range(6):  # 30, 20 (low), 10, 0 (exhausted), -10, -20
        assert api.post("/v1/events", key, call(f"x-{n}", customer)).status == 202
    assert prepaid(api, key, customer)["balance"] == -20
    found = notices(stack, scope_of(key, stack))
    assert sorted(found, key=lambda n: -n[1]["balance"]) == [
        ("CustomerBalanceLow", {"customer": customer, "currency": "USD", "balance": 20, "threshold": 25}),
        ("CustomerBalanceExhausted", {"customer": customer, "currency": "USD", "balance": 0}),
    ]


def test_a_balance_run_out_suspends_the_customer_and_a_top_up_reinstates_it(
    api: Api, key: str, stack: EmbeddedStack
) -> None:
    tariff(api, key)
    assert api.patch("/v1/settings", key, {"prepaid_at_zero": "suspend"}).status == 200
    customer = prepaid_customer(api, key, 20)
    for n in range(3):  # 10, 0 (exhausted), -10
        assert api.post("/v1/events", key, call(f"s-{n}", customer)).status == 202
    assert stack.plumbing is not None
    stack.plumbing.drain()  # CustomerBalanceExhausted reaches the access worker
    access = api.get(f"/v1/customers/{customer}/access", key).body
    assert (access["allowed"], access["reason"]) == (False, "balance_exhausted")
    paid = {"customer": customer, "amount": 50, "currency": "USD", "channel": "cash_desk"}
    assert api.post("/v1/payments", key, paid).status == 201
    assert prepaid(api, key, customer)["balance"] == 40
    stack.plumbing.drain()  # the top-up's CustomerCreditChanged
    access = api.get(f"/v1/customers/{customer}/access", key).body
    assert (access["allowed"], access["reason"]) == (True, None)


def test_a_top_up_is_refunded_only_from_what_is_left_and_trial_usage_is_free(api: Api, key: str) -> None:
    tariff(api, key)
    customer = prepaid_customer(api, key, 0)
    paid = api.post("/v1/payments", key, {"customer": customer, "amount": 100, "currency": "USD",
                                          "channel": "cash_desk"}).body  # fmt: skip
    for n in range(3):
        assert api.post("/v1/events", key, call(f"r-{n}", customer)).status == 202
    assert prepaid(api, key, customer)["balance"] == 70
    spent = api.post(f"/v1/payments/{paid['id']}/refund", key, {"amount": 80})
    assert (spent.status, spent.body["error"]["code"]) == (422, "prepaid_balance_spent"), spent.body
    assert api.post(f"/v1/payments/{paid['id']}/refund", key, {"amount": 70}).status == 200
    assert prepaid(api, key, customer)["balance"] == 0

    plan = {"code": "pp-trial", "name": "Trial", "currency": "USD", "interval": "month", "trial_days": 14,
            "charges": [{"meter": "calls", "model": "per_unit", "unit_amount": "10"}]}  # fmt: skip
    assert api.post("/v1/plans", key, plan).status == 201
    trialing = api.post("/v1/customers", key, {"name": "Trying", "billing_mode": "prepaid"}).body["id"]
    assert api.post("/v1/subscriptions", key, {"customer": trialing, "plan": "pp-trial"}).status == 201
    top_up = {"customer": trialing, "amount": 50, "currency": "USD", "channel": "cash_desk"}
    assert api.post("/v1/payments", key, top_up).status == 201
    assert api.post("/v1/events", key, call("t-1", trialing)).status == 202
    during_trial = prepaid(api, key, trialing)
    assert (during_trial["balance"], during_trial["unbilled_usage"]) == (50, 0)  # a trial's usage is never billed


def test_the_statement_bills_the_debited_usage_once_paid_from_the_balance(
    api: Api, key: str, stack: EmbeddedStack
) -> None:
    tariff(api, key, base_fee=1000)
    clock = api.post("/v1/test_clocks", key, {"frozen_time": JAN, "name": "Prepaid"}).body["id"]
    customer = prepaid_customer(api, key, 10_000, test_clock=clock)
    assert api.post(f"/v1/test_clocks/{clock}/advance", key, {"to": "2026-01-15T00:00:00Z"}).status == 200
    assert prepaid(api, key, customer)["balance"] == 9000  # January's fee, in advance, from the balance
    batch = [call(f"j{n}", customer, timestamp="2026-01-10T00:00:00Z") for n in range(25)]
    assert api.post("/v1/events/batch", key, {"events": batch}).body["accepted"] == 25
    assert (prepaid(api, key, customer)["balance"], prepaid(api, key, customer)["unbilled_usage"]) == (8750, 250)
    assert stack.plumbing is not None
    stack.plumbing.drain()
    assert api.post(f"/v1/test_clocks/{clock}/advance", key, {"to": "2026-02-01T02:00:00Z"}).status == 200
    invoices = api.get(f"/v1/invoices?customer={customer}", key).body["data"]
    statement = invoices[0]
    assert [(line["type"], line["amount"]) for line in statement["lines"]] == [
        ("subscription_fee", 1000), ("usage", 250)]  # fmt: skip
    assert (statement["status"], statement["applied_balance"], statement["amount_due"]) == ("paid", 1250, 0)
    balance = api.get(f"/v1/customers/{customer}/balance", key).body
    assert balance["customer_credit"] == 10_000 - 1000 - 1250 and balance["receivable"] == 0
    assert balance["prepaid"]["balance"] == 7750 and balance["prepaid"]["unbilled_usage"] == 0  # usage billed once
    ledger = api.get(f"/v1/customers/{customer}/ledger", key).body
    for entry in ledger["entries"]:
        assert sum(p["debit"] for p in entry["postings"]) == sum(p["credit"] for p in entry["postings"])


def test_a_low_balance_is_topped_up_from_the_saved_card(api: Api, key: str, stack: EmbeddedStack, served: str) -> None:
    from tests.integration.standin_client import open_page, submit
    from tests.integration.test_checkout_pages import forms_of, page, post_form, with_stripe

    with_stripe(api, key, stack, None)
    tariff(api, key, base_fee=1000)
    clock = api.post("/v1/test_clocks", key, {"frozen_time": JAN, "name": "Top-ups"}).body["id"]
    customer = prepaid_customer(api, key, 0, test_clock=clock, currency="USD")
    assert api.post(f"/v1/test_clocks/{clock}/advance", key, {"to": "2026-01-01T02:00:00Z"}).status == 200
    [january] = api.get(f"/v1/invoices?customer={customer}", key).body["data"]
    link = api.post("/v1/checkout_sessions", key, {"invoice": january["id"]}).body
    card = forms_of(page(api, link["url"]).raw.decode())["card"]
    stand_in_page = post_form(api, card.action, {**card.fields, "save_card": "1"}).headers["Location"]
    assert submit(stand_in_page, open_page(stand_in_page)[1]["pay"])[0] == 303
    assert stack.plumbing is not None
    stack.plumbing.drain()  # the invoice paid by card, the card saved
    assert api.get(f"/v1/customers/{customer}", key).body["default_payment_method"]["last4"] == "4242"

    settings = {"prepaid_low_balance_threshold": 500, "prepaid_auto_top_up": 2000}
    assert api.patch("/v1/settings", key, settings).body["prepaid_auto_top_up"] == 2000
    paid = {"customer": customer, "amount": 600, "currency": "USD", "channel": "cash_desk"}
    assert api.post("/v1/payments", key, paid).status == 201
    batch = [call(f"low-{n}", customer) for n in range(11)]  # 600 -> 490: below 500 at the 11th
    assert api.post("/v1/events/batch", key, {"events": batch}).body["accepted"] == 11
    assert prepaid(api, key, customer)["balance"] == 490
    stack.plumbing.drain()  # CustomerBalanceLow -> bus -> charge queue -> the saved card charged
    payments = api.get(f"/v1/payments?customer={customer}", key).body["data"]
    [top_up] = [p for p in payments if p["off_session"]]
    assert (top_up["status"], top_up["amount"], top_up["invoice"], top_up["credited"]) == (
        "succeeded",
        2000,
        None,
        2000,
    )
    assert prepaid(api, key, customer)["balance"] == 2490
    stack.plumbing.drain()  # redelivered and the provider's webhook: nothing more
    assert len([p for p in api.get(f"/v1/payments?customer={customer}", key).body["data"] if p["off_session"]]) == 1
