"""SQS: send a JSON message to a queue."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import boto3

from billing.settings import get_settings


@lru_cache(maxsize=1)
def _client() -> Any:
    settings = get_settings()
    return boto3.client("sqs", region_name=settings.region, endpoint_url=settings.endpoint_url)


def send(queue_url: str, body: dict[str, Any]) -> None:
    _client().send_message(QueueUrl=queue_url, MessageBody=json.dumps(body, separators=(",", ":")))
