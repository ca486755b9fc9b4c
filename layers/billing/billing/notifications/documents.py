"""What notifications attach: an invoice's PDF, the very document the API serves (rendered
once and kept, ``billing.invoicing.documents``), or a stored document named by its event."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from billing.invoicing.documents import DocumentStore, InvoiceDocuments
from billing.invoicing.model import Invoice
from billing.scope import Scope


class Attachments:
    def __init__(self, invoices: InvoiceDocuments, store: DocumentStore):
        self._invoices, self._store = invoices, store

    def invoice_pdf(self, scope: Scope, invoice: Mapping[str, Any]) -> bytes:
        return self._invoices.invoice_pdf(scope, Invoice.model_validate(invoice))

    def get(self, key: str) -> bytes | None:
        return self._store.get(key)
