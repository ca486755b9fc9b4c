"""The API function's settings: what its routes reach (``app`` loads them at cold start).

The API, usage ingestion and authorizer functions deploy this same code, so ``template.yaml``
gives the three the same variables; what each may do with them is its IAM policy's to say."""

from __future__ import annotations

from billing.settings import FunctionSettings, PublicBaseUrl, QueueUrl, ResourceName


class ApiFunctionSettings(FunctionSettings):
    billing_table: ResourceName
    usage_table: ResourceName
    invoice_run_queue_url: QueueUrl  # POST /v1/invoice_runs
    documents_bucket: ResourceName  # invoice PDFs
    provider_credentials_key: ResourceName  # the KMS key of payment provider credentials
    provider_event_queue_url: QueueUrl  # verified provider webhooks, for the processor
    webhook_secrets_key: ResourceName  # the KMS key that seals outbound webhooks' signing secrets
    webhook_delivery_queue_url: QueueUrl  # POST /v1/webhook_endpoints/{id}/test queues a delivery
    public_base_url: PublicBaseUrl | None = None  # links in documents; unset, none is printed
