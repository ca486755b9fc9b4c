"""Event source mappings and schedules of the template, run in-process against the endpoint.

moto cannot run Lambda code, so for each ``AWS::Lambda::EventSourceMapping``
(DynamoDB stream or SQS queue) a poller reads the source, applies the
mapping's filter criteria and batch size, and calls the function's handler
with the event shape Lambda would send. Stream batches fail as on Lambda: after a
partial batch failure the batch is retried from its first failed record; after a
function error it is split in halves (``BisectBatchOnFunctionError``, which uses
no retry) or retried whole; after ``MaximumRetryAttempts`` retries its records are
skipped and the on-failure queue gets Lambda's invocation record, which names the
shard and sequence numbers, not the data. A new process reads streams from
their start again, so consumers must dedupe by event id, as they must on AWS.
Stream records reach a function as Lambda sends them: the JSON the stream answered (times in
epoch seconds, binary values in base64), not botocore's parse of every attribute value, which
on a busy stream cost the process more than the functions' own work.
moto stores EventBridge Scheduler schedules but never fires them: each ``rate()``
schedule runs its target function when the stack starts and then at its rate.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger

from infra.local.functions import Handler, LambdaContext, load_handler
from infra.local.patterns import matches
from infra.provision import Provisioner, Stack

logger = Logger(service="local-plumbing")


class Poller:
    """One event source mapping: ``poll_once`` handles what is waiting and returns how many
    records it read (0 means the source is drained for now)."""

    def __init__(self, name: str, handler: Handler, mapping: dict[str, Any], stack: Stack, provisioner: Provisioner):
        self.name = name
        self._handler = handler
        self._batch_size = int(mapping.get("BatchSize", 10))
        self._window_s = float(mapping.get("MaximumBatchingWindowInSeconds", 0))
        self._max_retries = int(mapping.get("MaximumRetryAttempts", -1))
        self._bisect = bool(mapping.get("BisectBatchOnFunctionError", False))
        filters = mapping.get("FilterCriteria", {}).get("Filters", [])
        self._patterns = [json.loads(item["Pattern"]) for item in filters]
        self._failure_queue = mapping.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        self._stack = stack
        self._provisioner = provisioner
        self.stopping = threading.Event()

    def wanted(self, record: dict[str, Any]) -> bool:
        return not self._patterns or any(matches(pattern, record) for pattern in self._patterns)

    def invoke(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Call the handler; return the records it reported as failed (all on a function error)."""
        failed = self.call(records)
        return records if failed is None else failed

    def call(self, records: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
        """Call the handler: the records it reported as failed, or None on a function error."""
        try:
            result = self._handler({"Records": records}, LambdaContext(self.name))
        except Exception:
            logger.exception("handler failed", function=self.name)
            return None
        failed_ids = {item["itemIdentifier"] for item in (result or {}).get("batchItemFailures", [])}
        return [record for record in records if self.identifier(record) in failed_ids]

    def identifier(self, record: dict[str, Any]) -> str:
        raise NotImplementedError

    def poll_once(self, gather: bool = False) -> int:
        """Handle what is waiting; ``gather`` waits up to the mapping's batching window
        for a batch to fill, as Lambda does (the background loop gathers, a drain does not)."""
        raise NotImplementedError

    def _dead_letter(self, body: dict[str, Any]) -> None:
        if not self._failure_queue:
            return
        sqs = self._provisioner.client("sqs")
        url = sqs.get_queue_url(QueueName=self._failure_queue.rsplit(":", 1)[1])["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(body, default=str))


class StreamPoller(Poller):
    """A DynamoDB stream, read from every shard in order.

    Iterators are taken after the last sequence number read whenever one is missing or has
    expired (AWS iterators last 15 minutes); the shard list is read again at most every
    ``SHARDS_TTL_S``.
    """

    SHARDS_TTL_S = 1.0

    def __init__(self, *args: Any, stream_arn: str, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.stream_arn = self._arn = stream_arn
        self._streams = self._provisioner.client("dynamodbstreams")
        self._streams.meta.events.register("before-parse.dynamodb-streams.GetRecords", _records_as_sent)
        self._positions: dict[str, str | None] = {}  # shard -> last sequence number read
        self._iterators: dict[str, str] = {}  # shard -> iterator after that position
        self._closed: set[str] = set()
        self._shards: tuple[float, list[str]] = (0.0, [])

    def identifier(self, record: dict[str, Any]) -> str:
        return str(record["dynamodb"]["SequenceNumber"])

    def _shard_ids(self) -> list[str]:
        if time.monotonic() - self._shards[0] > self.SHARDS_TTL_S:
            shards = self._streams.describe_stream(StreamArn=self._arn)["StreamDescription"]["Shards"]
            self._shards = (time.monotonic(), [shard["ShardId"] for shard in shards])
        return [shard_id for shard_id in self._shards[1] if shard_id not in self._closed]

    def _read(self, shard_id: str, limit: int = 1000) -> list[dict[str, Any]]:
        """The next page of a shard, of at most ``limit`` records (its position moves past it)."""
        if shard_id not in self._iterators:
            position = self._positions.get(shard_id)
            where = (
                {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": position}
                if position
                else {"ShardIteratorType": "TRIM_HORIZON"}
            )
            found = self._streams.get_shard_iterator(StreamArn=self._arn, ShardId=shard_id, **where)
            self._iterators[shard_id] = found["ShardIterator"]
        try:
            response = self._streams.get_records(ShardIterator=self._iterators.pop(shard_id), Limit=limit)
        except self._streams.exceptions.ExpiredIteratorException:
            return []  # taken again from the position on the next read
        if "NextShardIterator" in response:
            self._iterators[shard_id] = response["NextShardIterator"]
        else:
            self._closed.add(shard_id)
        records = [{**record, "eventSourceARN": self._arn} for record in response.get("Records", [])]
        if records:
            self._positions[shard_id] = self.identifier(records[-1])
        return records

    def poll_once(self, gather: bool = False) -> int:
        """Gathering, a batch is filled up to its size and no further: a page read past it would
        leave a tail delivered on its own, a small batch whose function call costs as much."""
        handled = 0
        for shard_id in self._shard_ids():
            records = self._read(shard_id)
            deadline = time.monotonic() + self._window_s
            while gather and records and len(records) < self._batch_size and time.monotonic() < deadline:
                if self.stopping.wait(0.1):
                    break
                records += self._read(shard_id, min(1000, self._batch_size - len(records)))
            wanted = [record for record in records if self.wanted(record)]
            for start in range(0, len(wanted), self._batch_size):
                self._deliver(shard_id, wanted[start : start + self._batch_size])
            handled += len(records)  # progress, filtered or not: a page of other records is not the end
        return handled

    def _deliver(self, shard_id: str, batch: list[dict[str, Any]]) -> None:
        """As Lambda does for streams, keeping shard order: a partial failure retries from the
        first failed record; a function error splits the batch in halves when bisecting (no
        retry used) or retries it whole; a batch out of retries is skipped and described to
        the on-failure destination (``MaximumRetryAttempts: -1``: retried until it succeeds)."""
        pending = [(batch, 0)]  # (records, retries used), in shard order
        while pending:
            records, retries = pending.pop(0)
            if self.stopping.is_set():
                return  # the stack is stopping: the records stay in the stream
            failed = self.call(records)
            if failed == []:
                continue
            if failed is None and self._bisect and len(records) > 1:
                half = len(records) // 2
                pending[:0] = [(records[:half], retries), (records[half:], retries)]
                continue
            if failed:
                records = records[records.index(failed[0]) :]
            if 0 <= self._max_retries <= retries:
                logger.error("records exhausted their retries", function=self.name, count=len(records))
                self._dead_letter(self._failure_record(shard_id, records, retries + 1, failed is None))
                continue
            time.sleep(min(0.05 * 2**retries, 1.0))
            pending.insert(0, (records, retries + 1))

    def _failure_record(
        self, shard_id: str, records: list[dict[str, Any]], invocations: int, errored: bool
    ) -> dict[str, Any]:
        """Lambda's invocation record for skipped stream records: where they are, not what."""
        arrivals = [
            _arrival(record["dynamodb"].get("ApproximateCreationDateTime")) for record in (records[0], records[-1])
        ]
        return {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": f"arn:aws:lambda:us-east-1:123456789012:function:{self.name}",
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": invocations,
            },
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                **({"functionError": "Unhandled"} if errored else {}),
            },
            "version": "1.0",
            "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "DDBStreamBatchInfo": {
                "shardId": shard_id,
                "startSequenceNumber": self.identifier(records[0]),
                "endSequenceNumber": self.identifier(records[-1]),
                "approximateArrivalOfFirstRecord": arrivals[0],
                "approximateArrivalOfLastRecord": arrivals[1],
                "batchSize": len(records),
                "streamArn": self._arn,
            },
        }


def _records_as_sent(response_dict: dict[str, Any], customized_response_dict: dict[str, Any], **_: Any) -> None:
    """A ``GetRecords`` answer's records as JSON, taken out before botocore parses the rest (a
    ``before-parse`` handler's ``customized_response_dict`` is added to the parsed answer)."""
    if response_dict["status_code"] >= 300:
        return  # an error: botocore reads it
    page = json.loads(response_dict["body"])
    customized_response_dict["Records"] = page.pop("Records", [])
    response_dict["body"] = json.dumps(page).encode()


def _arrival(created: float | datetime | None) -> str | None:
    """A record's creation time as Lambda's invocation record writes it (ISO 8601, ms, UTC)."""
    if created is None:
        return None
    at = created if isinstance(created, datetime) else datetime.fromtimestamp(created, UTC)
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class QueuePoller(Poller):
    """An SQS queue: messages the handler reports as failed stay for the queue to redeliver."""

    def __init__(self, *args: Any, queue_arn: str, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._arn = queue_arn
        self._sqs = self._provisioner.client("sqs")
        self._url = self._sqs.get_queue_url(QueueName=queue_arn.rsplit(":", 1)[1])["QueueUrl"]

    def identifier(self, record: dict[str, Any]) -> str:
        return str(record["messageId"])

    def wanted(self, record: dict[str, Any]) -> bool:
        """As Lambda does for SQS: a JSON body is matched as an object, any other as text."""
        try:
            body = json.loads(record["body"])
        except ValueError:
            body = record["body"]
        return super().wanted({**record, "body": body})

    def poll_once(self, gather: bool = False) -> int:
        response = self._sqs.receive_message(
            QueueUrl=self._url,
            MaxNumberOfMessages=min(self._batch_size, 10),
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages = response.get("Messages", [])
        records = [self._record(message) for message in messages]
        wanted = [record for record in records if self.wanted(record)]
        failed = {self.identifier(record) for record in self.invoke(wanted)} if wanted else set()
        for message in messages:
            if message["MessageId"] not in failed:
                self._sqs.delete_message(QueueUrl=self._url, ReceiptHandle=message["ReceiptHandle"])
        return len(messages)

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message.get("Attributes", {}),
            "messageAttributes": message.get("MessageAttributes", {}),
            "md5OfBody": message.get("MD5OfBody"),
            "eventSource": "aws:sqs",
            "eventSourceARN": self._arn,
            "awsRegion": self._arn.split(":")[3],
        }


RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
UNIT_S = {"minute": 60, "hour": 3600, "day": 86400}


DAILY = re.compile(r"^cron\((\d+) (\d+) \* \* \? \*\)$")


class Schedule:
    """An ``AWS::Scheduler::Schedule`` with a ``rate(...)`` or a daily ``cron(m h * * ? *)``
    expression: the target function is called when the stack starts (a catch-up run) and then
    at that rate, or each day at that UTC time."""

    def __init__(self, name: str, resource: dict[str, Any], functions: dict[str, Any]):
        props = resource["Properties"]
        expression = props["ScheduleExpression"]
        self.name = name
        self.every_s, self._daily_at = 0, (0, 0)
        if match := RATE.match(expression):
            self.every_s = int(match.group(1)) * UNIT_S[match.group(2).rstrip("s")]
        elif match := DAILY.match(expression):
            self._daily_at = (int(match.group(2)), int(match.group(1)))
        else:
            raise NotImplementedError(f"{name}: only rate() and daily cron() schedules run locally")
        function_id = props["Target"]["Arn"]["Fn::GetAtt"][0]
        self._handler = load_handler(function_id, functions[function_id])
        self._input = json.loads(props["Target"].get("Input", "{}"))

    def fire(self) -> Any:
        return self._handler(self._input, LambdaContext(self.name))

    def wait_s(self, now: datetime) -> float:
        """How long until the next firing after one at ``now``."""
        if self.every_s:
            return self.every_s
        hour, minute = self._daily_at
        at = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
        return ((at - now).total_seconds() - 1) % 86400 + 1


IDLE_MAX_S = 1.0


def idle_wait(interval_s: float, idle_polls: int) -> float:
    """How long a poller waits after ``idle_polls`` polls in a row found nothing: the interval,
    doubling up to ``IDLE_MAX_S``, as Lambda's pollers back off from a quiet source. A stack has
    a poller per queue and stream; polling each every 0.2 s while nothing happens kept a core
    of the local platform busy asking the emulator."""
    return float(min(interval_s * 2.0 ** min(idle_polls - 1, 10), max(IDLE_MAX_S, interval_s)))


class Plumbing:
    """All pollers and schedules of a stack, each on its own daemon thread."""

    def __init__(self, stack: Stack, provisioner: Provisioner, interval_s: float = 0.2):
        self._interval = interval_s
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.pollers: list[Poller] = []
        functions = stack.resources("AWS::Lambda::Function")
        for name, resource in stack.resources("AWS::Lambda::EventSourceMapping").items():
            props = stack.resolve(resource["Properties"])
            function_id = resource["Properties"]["FunctionName"]["Ref"]
            handler = load_handler(function_id, functions[function_id])
            source = props["EventSourceArn"]
            if ":dynamodb:" in source:
                self.pollers.append(StreamPoller(name, handler, props, stack, provisioner, stream_arn=source))
            elif ":sqs:" in source:
                self.pollers.append(QueuePoller(name, handler, props, stack, provisioner, queue_arn=source))
            else:
                raise NotImplementedError(f"{name}: no local poller for event source {source}")
        self.schedules = [
            Schedule(name, resource, functions)
            for name, resource in stack.resources("AWS::Scheduler::Schedule").items()
        ]

    def drain(self, rounds: int = 50) -> None:
        """Handle everything waiting now (tests call this instead of sleeping)."""
        for _ in range(rounds):
            if sum(poller.poll_once() for poller in self.pollers) == 0:
                return

    def start(self) -> None:
        for poller in self.pollers:
            thread = threading.Thread(target=self._loop, args=(poller,), name=poller.name, daemon=True)
            thread.start()
            self._threads.append(thread)
        for schedule in self.schedules:
            thread = threading.Thread(target=self._every, args=(schedule,), name=schedule.name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def _every(self, schedule: Schedule) -> None:
        while not self._stop.is_set():
            try:
                schedule.fire()
            except Exception:
                logger.exception("schedule failed", schedule=schedule.name)
            self._stop.wait(schedule.wait_s(datetime.now(UTC)))

    def _loop(self, poller: Poller) -> None:
        idle = 0  # polls in a row that found nothing
        while not self._stop.is_set():
            try:
                handled = poller.poll_once(gather=True)
            except Exception:
                logger.exception("poller failed", poller=poller.name)
                handled = 0
            idle = 0 if handled else idle + 1
            if idle:
                self._stop.wait(idle_wait(self._interval, idle))

    def stop(self, wait_s: float = 5.0) -> None:
        """Ask every poller to stop and wait up to ``wait_s`` in all for those busy in a handler.
        A handler still running then is abandoned (the threads are daemons), as a Lambda cut off
        by a timeout: what it had not committed is delivered again by the next start."""
        self._stop.set()
        for poller in self.pollers:
            poller.stopping.set()
        deadline = time.monotonic() + wait_s
        for thread in self._threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
