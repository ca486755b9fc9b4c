"""Every change the embedded emulator makes to moto's internals, and the moto code each was
written against.

moto is pinned (requirements-dev.txt); these patches replace or wrap private moto methods
whose shape they rely on (argument positions, attributes, what they call). Each ``Patch``
keeps the fingerprint of the moto source it was written against (its target and what else
it relies on), and ``tests/unit/test_moto_patches.py`` fails, naming the patch, as soon as
the installed moto differs: read the new moto code, adapt the patch, then update
``written_for`` to the fingerprint the test prints.

The patches:

- **one request at a time**: moto's DynamoDB is not safe under concurrent requests (a
  cancelled ``TransactWriteItems`` restores a snapshot of the tables taken before it ran,
  erasing writes other requests committed meanwhile, and snapshots can fail while another
  thread writes). Real DynamoDB makes each request atomic; a lock around each request gives
  the same guarantee. Connections are still accepted concurrently.
- **cheap transaction rollback**: moto's snapshot is a deep copy of every table a
  transaction names, stream records included: its cost grows with the table (the ingest
  benchmark ran out of 24 GB). Under the lock nothing else runs during a transaction, so
  only what a transaction can change is saved (the items it names, each stream's length)
  and put back when it is cancelled. That is also what DynamoDB does: a cancelled
  transaction leaves no stream record.
- **query by partition**: moto answers a ``Query`` by sorting every item of the table and
  keeping those under the key; the query is handed only the items under its partition key
  (of the table or of the index), which moto then sorts and filters as before.
- **PartiQL inserts**: moto runs PartiQL without parameters and copies every item of every
  table for each statement. ``BatchExecuteStatement`` of ``INSERT INTO "table" VALUE
  {'name': ?, ...}`` statements (how usage ingestion creates events, each only where its key
  is free) is run as DynamoDB runs it: each statement creates its item, or fails alone with
  ``DuplicateItem``. Other statements go to moto as before.
- **stream records as stored**: moto stores stream records as ready JSON but sends them
  through its generic response serializer (about a millisecond per record), so reading a
  busy stream cost more than writing the table; ``GetRecords`` answers with moto's own JSON
  dump of the records instead.
- **SQS queue attributes, cheaply**: moto builds a queue's whole attribute dict four times per
  ``SendMessage`` (to read ``ContentBasedDeduplication``), converting every attribute's name
  from CamelCase again and counting the messages in it by reading the clock twice per message:
  4 ms on an empty queue, 60 ms with 2,000 messages waiting (a queue nobody drained, as in the
  webhook benchmark). The same dict is built with the names converted once and the messages
  counted at one clock reading, by moto's own rules (``Message.visible``, ``Message.delayed``).
"""

from __future__ import annotations

import copy
import functools
import hashlib
import inspect
import json
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from moto.core.utils import camelcase_to_underscores, unix_time_millis
from moto.dynamodb.exceptions import MockValidationException
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table
from moto.dynamodb.models.utilities import dynamo_json_dump
from moto.dynamodbstreams.models import DynamoDBStreamsBackend
from moto.dynamodbstreams.responses import DynamoDBStreamsHandler
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from moto.sqs.models import Message, Queue
from werkzeug.serving import make_server


def fingerprint(*code: Callable[..., Any]) -> str:
    """What a patch relies on, as one short hash of the source code of ``code``."""
    digest = hashlib.sha256()
    for part in code:
        digest.update(inspect.getsource(part).encode())
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class Patch:
    """``owner.attribute`` replaced by ``replacement``; ``original`` (and ``reads``) are the moto
    code it was written against, whose fingerprint was ``written_for``."""

    name: str
    owner: type
    attribute: str
    original: Callable[..., Any]
    replacement: Callable[..., Any] | property
    written_for: str
    reads: tuple[Callable[..., Any], ...] = ()

    @property
    def target(self) -> str:
        return f"{self.owner.__module__}.{self.owner.__qualname__}.{self.attribute}"

    def fingerprint(self) -> str:
        return fingerprint(self.original, *self.reads)


# ---------------------------------------------------------------- one request at a time
class _OneAtATime:
    def __init__(self, app: Callable[..., Iterable[bytes]]):
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        with self._lock:
            return list(self._app(environ, start_response))


_moto_server_entry = ThreadedMotoServer._server_entry


def _server_entry(self: ThreadedMotoServer) -> None:
    """moto's own, with every request under one lock."""
    app = _OneAtATime(DomainDispatcherApplication(create_backend_app))
    self._server = make_server(self._ip_address, self._port, app, threaded=True, request_handler=MotoRequestHandler)
    self._server_ready_event.set()
    self._server.serve_forever()


# ---------------------------------------------------------------- cheap transaction rollback
Saved = tuple[Table, DynamoType, DynamoType | None, Any]


def _save(backend: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> tuple[list[Saved], dict[Table, int]]:
    """Copies of the items a transaction names (None: absent), and each stream's length."""
    items: list[Saved] = []
    streams: dict[Table, int] = {}
    for operation in transact_items:
        op = next(iter(operation.values()))
        table = backend.tables.get(op.get("TableName", ""))
        key = op.get("Key") or op.get("Item")
        names = [table.hash_key_attr, table.range_key_attr] if table else []
        if table is None or not key or any(name and name not in key for name in names):
            continue  # moto refuses it before writing anything
        hash_key = DynamoType(key[table.hash_key_attr])
        range_key = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
        current = table.get_item(hash_key, range_key)
        items.append((table, hash_key, range_key, copy.deepcopy(current)))
        if table.stream_shard is not None:
            streams.setdefault(table, len(table.stream_shard.items))
    return items, streams


def _restore(items: list[Saved], streams: dict[Table, int]) -> None:
    for table, hash_key, range_key, item in reversed(items):
        if range_key is None:
            if item is None:
                table.items.pop(hash_key, None)
            else:
                table.items[hash_key] = item
        elif item is None:
            table.items.get(hash_key, {}).pop(range_key, None)
        else:
            table.items[hash_key][range_key] = item
    for table, length in streams.items():
        assert table.stream_shard is not None
        del table.stream_shard.items[length:]


_moto_transact_write_items = DynamoDBBackend.transact_write_items


def _transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    saved = _save(self, transact_items)
    Table.__deepcopy__ = lambda table, memo: table  # type: ignore[attr-defined]  # moto's snapshot: a no-op
    try:
        _moto_transact_write_items(self, transact_items)
    except Exception:
        _restore(*saved)
        raise
    finally:
        del Table.__deepcopy__  # type: ignore[attr-defined]


# ---------------------------------------------------------------- query by partition
_moto_query = Table.query


def _has(item: Any, name: str, value: DynamoType) -> bool:
    found = item.attrs.get(name)
    return found is not None and bool(found == value)


def _query(self: Table, hash_key: DynamoType | None, *args: Any, **kwargs: Any) -> Any:
    index_name = args[6] if len(args) > 6 else kwargs.get("index_name")  # moto passes it by position
    conditions = kwargs.get("hash_key_conditions") or []
    if index_name and len(conditions) == 1:  # an index: only the items with its partition key
        name, value = conditions[0]
        groups = self.items.values() if self.range_key_attr else [{None: item} for item in self.items.values()]
        under = [item for group in groups for item in group.values() if _has(item, name, value)]
    elif not index_name and hash_key is not None and self.range_key_attr:
        under = list(self.items.get(hash_key, {}).values())
    else:
        return _moto_query(self, hash_key, *args, **kwargs)
    self.all_items = lambda: under  # type: ignore[method-assign,assignment,return-value]  # this call only
    try:
        return _moto_query(self, hash_key, *args, **kwargs)
    finally:
        del self.all_items


# ---------------------------------------------------------------- PartiQL inserts
_moto_batch_execute_statement = DynamoDBBackend.batch_execute_statement
_INSERT = re.compile(r"""^\s*INSERT\s+INTO\s+"([^"]+)"\s+VALUE\s+\{(.*)\}\s*$""", re.IGNORECASE | re.DOTALL)
_PARAMETER = re.compile(r"""^\s*'([^']+)'\s*:\s*\?\s*$""")


def _insert(statement: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """The table and item of an ``INSERT`` whose values are all parameters, else None."""
    found = _INSERT.match(statement.get("Statement", ""))
    if not found:
        return None
    names = [_PARAMETER.match(part) for part in found.group(2).split(",")]
    parameters = statement.get("Parameters", [])
    if not all(names) or len(names) != len(parameters):
        return None
    return found.group(1), {name.group(1): value for name, value in zip(names, parameters, strict=True) if name}


def _batch_execute_statement(self: DynamoDBBackend, statements: list[dict[str, Any]]) -> list[dict[str, Any]]:
    inserts = [_insert(statement) for statement in statements]
    if not inserts or not all(inserts):
        return _moto_batch_execute_statement(self, statements)
    responses: list[dict[str, Any]] = []
    for table_name, item in (insert for insert in inserts if insert):
        table = self.tables.get(table_name)
        if table is None:
            responses.append({"Error": {"Code": "ResourceNotFound", "Message": "Requested resource not found"}})
            continue
        range_key = DynamoType(item[table.range_key_attr]) if table.range_key_attr in item else None
        if table.hash_key_attr in item and table.get_item(DynamoType(item[table.hash_key_attr]), range_key):
            error = {"Code": "DuplicateItem", "Message": "Duplicate primary key exists in table"}
            responses.append({"TableName": table_name, "Error": error})
            continue
        try:  # under the one-request lock: nothing writes between the look and the put
            self.put_item(table_name, item)
        except MockValidationException as refused:
            responses.append(
                {"TableName": table_name, "Error": {"Code": "ValidationError", "Message": refused.message}}
            )
            continue
        responses.append({"TableName": table_name})
    return responses


# ---------------------------------------------------------------- stream records as stored
_moto_get_records = DynamoDBStreamsHandler.get_records


def _get_records(self: DynamoDBStreamsHandler) -> str:
    records: str = dynamo_json_dump(
        self.backend.get_records(self._get_param("ShardIterator"), self._get_param("Limit") or 1000)
    )
    return records


# ---------------------------------------------------------------- SQS queue attributes, cheaply
_moto_queue_attributes: property = Queue.__dict__["attributes"]
_snake = functools.cache(camelcase_to_underscores)


def _queue_attributes(self: Queue) -> dict[str, Any]:
    now = unix_time_millis()
    visible = [now > message.visible_at for message in self._messages]  # Message.visible
    delayed = [now < message.delayed_until for message in self._messages]  # Message.delayed
    counts = {
        "ApproximateNumberOfMessages": sum(v and not d for v, d in zip(visible, delayed, strict=True)),  # .messages
        "ApproximateNumberOfMessagesDelayed": sum(delayed),
        "ApproximateNumberOfMessagesNotVisible": len(visible) - sum(visible),
    }
    names = [*self.BASE_ATTRIBUTES, *(self.FIFO_ATTRIBUTES if self.fifo_queue else ()),
             *(self.KMS_ATTRIBUTES if getattr(self, "kms_master_key_id", None) else ())]  # fmt: skip
    result: dict[str, Any] = {name: counts[name] if name in counts else getattr(self, _snake(name)) for name in names}
    if self.policy:
        result["Policy"] = self.policy
    if self.redrive_policy:
        result["RedrivePolicy"] = json.dumps(self.redrive_policy)
    return {key: str(value).lower() if isinstance(value, bool) else value for key, value in result.items()}


PATCHES = (
    Patch("one request at a time", ThreadedMotoServer, "_server_entry", _moto_server_entry, _server_entry,
          written_for="ef744bd45e1e465a"),
    Patch("cheap transaction rollback", DynamoDBBackend, "transact_write_items", _moto_transact_write_items,
          _transact_write_items, written_for="abc2e34f6c6b40f3", reads=(Table.get_item,)),
    Patch("query by partition", Table, "query", _moto_query, _query,
          written_for="bc3a16a524d8f0ab", reads=(DynamoDBBackend.query,)),
    Patch("PartiQL inserts", DynamoDBBackend, "batch_execute_statement", _moto_batch_execute_statement,
          _batch_execute_statement, written_for="43cc68f4ef1bc81b", reads=(DynamoDBBackend.put_item,)),
    Patch("stream records as stored", DynamoDBStreamsHandler, "get_records", _moto_get_records, _get_records,
          written_for="c86c392b5c255926", reads=(DynamoDBStreamsBackend.get_records,)),
    Patch("SQS queue attributes, cheaply", Queue, "attributes", _moto_queue_attributes.fget,  # type: ignore[arg-type]
          property(_queue_attributes), written_for="fa933e48f5051e1e", reads=(
              Message.__dict__["visible"].fget, Message.__dict__["delayed"].fget, Queue.__dict__["messages"].fget,
              Queue.__dict__["approximate_number_of_messages"].fget,
              Queue.__dict__["approximate_number_of_messages_delayed"].fget,
              Queue.__dict__["approximate_number_of_messages_not_visible"].fget)),
)  # fmt: skip


def apply() -> None:
    """Install every patch (in this process; installing twice changes nothing)."""
    for patch in PATCHES:
        setattr(patch.owner, patch.attribute, patch.replacement)
