"""Documents (invoice and credit note PDFs) in the S3 bucket of ``template.yaml``."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import boto3
from botocore.exceptions import ClientError

from billing.settings import get_settings


@lru_cache(maxsize=1)
def _client() -> Any:
    settings = get_settings()
    return boto3.client("s3", region_name=settings.region, endpoint_url=settings.endpoint_url)


def _bucket() -> str:
    bucket = get_settings().documents_bucket
    if not bucket:
        raise RuntimeError("DOCUMENTS_BUCKET is not set (template.yaml sets it)")
    return bucket


class S3DocumentStore:
    def get(self, key: str) -> bytes | None:
        try:
            body: bytes = _client().get_object(Bucket=_bucket(), Key=key)["Body"].read()
        except ClientError as exc:
            if exc.response["Error"]["Code"] in {"NoSuchKey", "404"}:
                return None
            raise
        return body

    def put(self, key: str, content: bytes, content_type: str) -> None:
        _client().put_object(Bucket=_bucket(), Key=key, Body=content, ContentType=content_type)
