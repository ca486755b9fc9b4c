"""The local stack's own logic: event patterns, CloudFormation intrinsics, stream delivery rules."""

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


def test_stream_batches_fail_as_on_lambda() -> None:
    """A function error splits the batch in halves (no retry used), a single failing record is
    retried whole, a partial failure retries from the record reported; out of retries, the
    on-failure destination gets Lambda's record of where the skipped records are."""
    import threading

    from infra.local.plumbing import StreamPoller

    poller = StreamPoller.__new__(StreamPoller)  # the delivery rules only, no stream behind it
    poller.name, poller._arn, poller._bisect, poller._max_retries = "Fn", "arn:stream", True, 1
    poller.stopping = threading.Event()
    calls: list[list[str]] = []
    sent: list[dict] = []

    def handler(event: dict, context: object) -> dict:
        sequences = [record["dynamodb"]["SequenceNumber"] for record in event["Records"]]
        calls.append(sequences)
        if "3" in sequences:
            raise RuntimeError("poison")
        return {"batchItemFailures": [{"itemIdentifier": "6"}] if "6" in sequences else []}

    poller._handler = handler
    poller._dead_letter = sent.append  # type: ignore[method-assign]
    poller._deliver("shard-1", [{"dynamodb": {"SequenceNumber": str(n)}} for n in range(1, 9)])
    assert calls == [
        [str(n) for n in range(1, 9)],
        ["1", "2", "3", "4"],
        ["1", "2"],
        ["3", "4"],
        ["3"],
        ["3"],  # its one retry
        ["4"],
        ["5", "6", "7", "8"],
        ["6", "7", "8"],  # retried from the record reported, once
    ]
    infos = [message["DDBStreamBatchInfo"] for message in sent]
    assert [(i["startSequenceNumber"], i["endSequenceNumber"], i["batchSize"]) for i in infos] == [
        ("3", "3", 1),
        ("6", "8", 3),
    ]
    assert {message["requestContext"]["condition"] for message in sent} == {"RetryAttemptsExhausted"}
    assert infos[0]["shardId"] == "shard-1" and infos[0]["streamArn"] == "arn:stream"
    assert (
        sent[0]["responseContext"]["functionError"] == "Unhandled" and "functionError" not in sent[1]["responseContext"]
    )


def test_invocation_records_write_arrivals_as_lambda_does() -> None:
    from datetime import UTC, datetime

    from infra.local.plumbing import _arrival

    assert _arrival(1796144130.5) == "2026-12-01T16:55:30.500Z"
    assert _arrival(datetime(2026, 12, 1, 16, 15, 30, tzinfo=UTC)) == "2026-12-01T16:15:30.000Z"
    assert _arrival(None) is None


def test_a_gathered_stream_batch_is_filled_to_its_size_and_no_further() -> None:
    """A page read while gathering asks only for what the batch lacks, so no tail is left to be
    delivered as a small batch of its own."""
    import threading

    from infra.local.plumbing import StreamPoller

    poller = StreamPoller.__new__(StreamPoller)  # the gathering only, no stream behind it
    poller._batch_size, poller._window_s, poller._patterns = 10, 60.0, []
    poller.stopping = threading.Event()
    poller._shard_ids = lambda: ["shard-1"]  # type: ignore[method-assign]
    asked: list[int] = []
    sequence = iter(range(1, 100))

    def read(shard_id: str, limit: int = 1000) -> list[dict]:
        asked.append(limit)
        return [{"dynamodb": {"SequenceNumber": str(next(sequence))}} for _ in range(min(limit, 4))]

    batches: list[int] = []
    poller._read = read  # type: ignore[method-assign]
    poller._deliver = lambda shard_id, batch: batches.append(len(batch))  # type: ignore[method-assign]
    assert poller.poll_once(gather=True) == 10
    assert asked == [1000, 6, 2] and batches == [10]


def test_a_daily_cron_schedule_waits_until_its_next_time_of_day() -> None:
    from datetime import UTC, datetime

    from infra.local.plumbing import Schedule

    daily = Schedule.__new__(Schedule)
    daily.every_s, daily._daily_at = 0, (0, 15)
    assert daily.wait_s(datetime(2026, 3, 1, 0, 0, tzinfo=UTC)) == 15 * 60
    assert daily.wait_s(datetime(2026, 3, 1, 0, 15, tzinfo=UTC)) == 86400  # fired now: tomorrow
    assert daily.wait_s(datetime(2026, 3, 1, 23, 0, tzinfo=UTC)) == 75 * 60


def test_an_idle_poller_backs_off_to_a_second_and_a_busy_one_does_not_wait() -> None:
    from infra.local.plumbing import idle_wait

    assert [idle_wait(0.2, n) for n in (1, 2, 3, 4, 50)] == [0.2, 0.4, 0.8, 1.0, 1.0]
