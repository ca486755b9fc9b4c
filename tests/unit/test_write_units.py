"""Write units counted from the requests a client sends, at once or once settled."""

from __future__ import annotations

import botocore.session
from botocore.stub import Stubber

from bench._capacity import WriteUnits


def test_deferred_counting_counts_at_settle_what_counting_at_once_counts() -> None:
    client = botocore.session.get_session().create_client(
        "dynamodb", region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s"
    )
    at_once, deferred = WriteUnits(), WriteUnits()
    at_once.attach(client)
    deferred.attach(client, deferred=True)
    item = {"PK": {"S": "a"}, "SK": {"S": "b"}, "blob": {"S": "x" * 1500}}  # 2 KB: 2 units
    with Stubber(client) as stub:
        for _ in range(2):  # the second put replaces the first
            stub.add_response("batch_write_item", {})
            client.batch_write_item(RequestItems={"bench-BillingTable-x": [{"PutRequest": {"Item": item}}]})
    assert (at_once.units, at_once.requests) == (4, 2)
    assert (deferred.units, deferred.requests) == (0, 0)
    deferred.settle()
    assert (deferred.units, deferred.requests) == (4, 2)
    deferred.settle()  # counted once
    assert deferred.units == 4
