"""Prepaid balances and running meter states in the billing table (KEYS.md, "Prepaid").

- the wallet lives on the customer's balances item (``ledger.balances_key``), beside the
  ledger's account balances: ``pp_bal`` (the spendable balance: customer credit less unbilled
  debits), ``pp_unb`` (unbilled debits) and ``ppd:{subscription}#{period_start}`` (the debits of
  one subscription period, released when its statement is finalized). ``ledger.post_all`` moves
  ``pp_bal`` with every change of customer credit, in the same update;
- a meter's running state: ``PK={scope}#PPQ#{subscription}#{period_start}``, ``SK={meter code}``:
  ``q`` (quantity, a decimal string), ``n`` (events), ``f`` (per-event fees, decimal strings),
  ``amt`` (debited so far), ``v`` (version), ``expires_at`` (400 days, as the events).

One event is one ``TransactWriteItems``: the raw event in the usage table
(``attribute_not_exists``: a duplicate fails here and debits nothing), the running state
(``v = :v``), the balances item (``ADD`` of the debit, conditional on the balance still
covering it under a refusing policy, on its side of each boundary it does not cross, and, when
it crosses one, on the very balance the decision read, which its notices name) and the outbox
record of its notices.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from billing.adapters.dynamodb import outbox, table, usage_events
from billing.adapters.dynamodb.ledger import (
    PREPAID_BALANCE,
    PREPAID_CLOSED,
    PREPAID_PERIOD,
    PREPAID_UNBILLED,
    balances_key,
    period_attribute,
)
from billing.prepaid.model import Wallet
from billing.prepaid.rating import Running
from billing.prepaid.service import AlreadyStored, Debit, MeterPeriod, Stale
from billing.scope import Scope

BALANCE = PREPAID_BALANCE
UNBILLED = PREPAID_UNBILLED


def running_key(scope: Scope, meter: MeterPeriod) -> dict[str, str]:
    return {"PK": f"{scope.key}#PPQ#{meter.subscription}#{meter.period_start}", "SK": meter.code}


def wallet_of(item: Mapping[str, Any] | None) -> Wallet:
    found = item or {}
    closed = frozenset(_period(name) for name in found.get(PREPAID_CLOSED) or ())
    return Wallet(int(found.get(BALANCE, 0)), int(found.get(UNBILLED, 0)), closed)


def _period(attribute: str) -> tuple[str, str]:
    subscription, _, start = attribute.removeprefix(PREPAID_PERIOD).partition("#")
    return subscription, start


def running_of(item: Mapping[str, Any] | None) -> Running:
    if not item:
        return Running()
    fees = tuple(Decimal(fee) for fee in item.get("f") or [])
    return Running(Decimal(item["q"]), int(item["n"]), fees, int(item["amt"]), int(item["v"]))


def running_to_item(scope: Scope, meter: MeterPeriod, running: Running, expires_at: int) -> dict[str, Any]:
    return {
        **running_key(scope, meter),
        "entity": "prepaid_running",
        "q": str(running.quantity),
        "n": running.events,
        "f": [str(fee) for fee in running.fees] or None,
        "amt": running.amount,
        "v": running.version,
        "expires_at": expires_at,
    }


class DynamoPrepaidStore:
    def read(self, scope: Scope, customer: str, meter: MeterPeriod | None) -> tuple[Wallet, Running]:
        keys = [balances_key(scope, customer)] + ([running_key(scope, meter)] if meter else [])
        found = table.get_many(keys)
        return wallet_of(found[0]), running_of(found[1] if meter else None)

    def wallet(self, scope: Scope, customer: str) -> Wallet:
        return wallet_of(table.get(balances_key(scope, customer)))

    def stored(self, scope: Scope, transaction_id: str) -> bool:
        return bool(usage_events.DynamoUsageEventStore().existing(scope, [transaction_id]))

    def debit(self, scope: Scope, debit: Debit) -> None:
        event = debit.event
        operations: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": usage_events.name(),
                    "Item": table.encode(usage_events.to_item(scope, event)),
                    "ConditionExpression": "attribute_not_exists(PK)",
                }
            }
        ]
        if debit.step is not None:
            before = debit.step.before
            condition, values = (
                ("v = :v", {":v": before.version}) if before.version else ("attribute_not_exists(PK)", None)
            )
            item = running_to_item(scope, debit.meter, debit.step.after, usage_events.expires_at(event))
            operations.append(table.put(item, condition, values))
        if debit.amount:
            operations.append(_debit_update(scope, debit))
        operations += outbox.put_events(debit.notices)
        try:
            table.transact(operations, {0: AlreadyStored(), **{i: Stale() for i in range(1, len(operations))}})
        except AlreadyStored:
            raise AlreadyStored() from None
        except Stale:
            raise Stale() from None


def _debit_update(scope: Scope, debit: Debit) -> dict[str, Any]:
    """The balances item's update: the debit added, on the conditions of the decision."""
    amount, decision = debit.amount, debit.decision
    period = period_attribute(debit.meter.subscription, debit.meter.period_start)
    names = {"#b": BALANCE, "#u": UNBILLED, "#p": period, "#closed": PREPAID_CLOSED}
    values: dict[str, Any] = {":neg": -amount, ":amt": amount, ":period": period}
    conditions = ["(attribute_not_exists(#closed) OR NOT contains(#closed, :period))"]  # not finalized meanwhile
    if debit.covered_required and amount > 0:
        conditions.append("#b >= :amt")
    if decision.crossed:  # its notices name the balance after it: exactly the one read
        conditions.append("#b = :before")
        values[":before"] = decision.before
    for index, boundary in enumerate(decision.kept):
        low, high = f":lo{index}", f":hi{index}"
        values[low], values[high] = boundary.level, boundary.level + amount - 1
        # no balance reads as 0, inside no boundary's range (levels are 1 or more)
        conditions.append(f"(attribute_not_exists(#b) OR NOT (#b BETWEEN {low} AND {high}))")
    update: dict[str, Any] = {
        "TableName": table.table_name(),
        "Key": table.encode(balances_key(scope, debit.event.customer)),
        "UpdateExpression": "ADD #b :neg, #u :amt, #p :amt",
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": table.encode(values),
    }
    if conditions:
        update["ConditionExpression"] = " AND ".join(conditions)
    return {"Update": update}
