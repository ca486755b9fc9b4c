"""Documents (invoice and credit note PDFs) in the S3 bucket of ``template.yaml``."""

from __future__ import annotations

from botocore.exceptions import ClientError

from billing.adapters import aws
from billing.settings import get_settings


def _bucket() -> str:
    bucket = get_settings().documents_bucket
    if not bucket:
        raise RuntimeError("DOCUMENTS_BUCKET is not set (template.yaml sets it)")
    return bucket


class S3DocumentStore:
    def get(self, key: str) -> bytes | None:
        try:
            body: bytes = aws.client("s3").get_object(Bucket=_bucket(), Key=key)["Body"].read()
        except ClientError as exc:
            if exc.response["Error"]["Code"] in {"NoSuchKey", "404"}:
                return None
            raise
        return body

    def put(self, key: str, content: bytes, content_type: str) -> None:
        aws.client("s3").put_object(Bucket=_bucket(), Key=key, Body=content, ContentType=content_type)
