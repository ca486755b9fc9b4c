"""The local stack's own logic: event patterns and CloudFormation intrinsics."""

from __future__ import annotations

import pytest

from infra.intrinsics import Resolver, Unresolved, dependencies
from infra.local.patterns import matches

STREAM_FILTER = {"eventName": ["INSERT"], "dynamodb": {"NewImage": {"entity": {"S": ["event"]}}}}


def test_filter_accepts_outbox_inserts_only() -> None:
    insert = {"eventName": "INSERT", "dynamodb": {"NewImage": {"entity": {"S": "event"}}}}
    assert matches(STREAM_FILTER, insert)
    assert not matches(STREAM_FILTER, {**insert, "eventName": "MODIFY"})
    assert not matches(STREAM_FILTER, {"eventName": "INSERT", "dynamodb": {"NewImage": {"entity": {"S": "customer"}}}})
    assert not matches(STREAM_FILTER, {"eventName": "REMOVE", "dynamodb": {}})


@pytest.mark.parametrize(
    ("pattern", "event", "expected"),
    [
        ({"detail-type": [{"prefix": "Invoice"}]}, {"detail-type": "InvoiceFinalized"}, True),
        ({"detail-type": [{"prefix": "Invoice"}]}, {"detail-type": "CustomerCreated"}, False),
        ({"source": [{"anything-but": "x"}]}, {"source": "billing"}, True),
        ({"source": [{"anything-but": ["billing"]}]}, {"source": "billing"}, False),
        ({"detail": {"tag": [{"exists": False}]}}, {"detail": {}}, True),
        ({"detail": {"tag": [{"exists": True}]}}, {"detail": {}}, False),
        ({"tags": ["vip"]}, {"tags": ["a", "vip"]}, True),
    ],
)
def test_pattern_matchers(pattern: dict, event: dict, expected: bool) -> None:
    assert matches(pattern, event) is expected


def test_intrinsics_resolve_against_provisioned_values() -> None:
    resolve = Resolver({"Table": "billing-Table", "AWS::Region": "eu-west-1"}, {("Queue", "Arn"): "arn:q"})
    value = {
        "name": {"Ref": "Table"},
        "arn": {"Fn::GetAtt": ["Queue", "Arn"]},
        "sub": {"Fn::Sub": "${Table}@${AWS::Region}/${Queue.Arn}"},
        "join": {"Fn::Join": ["-", ["a", {"Ref": "Table"}]]},
    }
    assert resolve(value) == {
        "name": "billing-Table",
        "arn": "arn:q",
        "sub": "billing-Table@eu-west-1/arn:q",
        "join": "a-billing-Table",
    }
    assert dependencies(value) == {"Table", "Queue", "AWS::Region"}
    with pytest.raises(Unresolved):
        resolve({"Ref": "Missing"})


def test_sqs_filters_match_the_parsed_json_body() -> None:
    from infra.local.plumbing import QueuePoller

    poller = QueuePoller.__new__(QueuePoller)  # only the filter, no queue behind it
    poller._patterns = [{"body": {"detail-type": ["PlanMigrationRequested"]}}]
    assert poller.wanted({"body": '{"detail-type": "PlanMigrationRequested"}'})
    assert not poller.wanted({"body": '{"detail-type": "CustomerCreated"}'})
    assert not poller.wanted({"body": "not json"})
