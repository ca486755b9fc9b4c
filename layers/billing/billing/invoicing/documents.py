"""Invoice PDFs: rendered once an invoice is finalized, then served from the document store.

A draft is rendered on every request (it still changes) and marked DRAFT; a finalized
invoice is rendered on its first request and kept (``{scope}/invoices/{id}.pdf``), so what
the customer downloads later is the same document. A void invoice is rendered again, marked
VOID. The payment link points at the hosted checkout page of the invoice (``/pay/{id}``) under
the platform's configured public base URL, never one taken from a request (a forged ``Host``
would otherwise put its link in a document kept for good); without one, no link is printed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Protocol

from billing.invoicing.model import Invoice
from billing.scope import Scope
from billing.tenant_settings import TenantSettings

if TYPE_CHECKING:
    from billing.collections.debt import Debt
    from billing.collections.notice_pdf import Debtor
    from billing.invoicing.pdf import Seller


class DocumentStore(Protocol):
    def get(self, key: str) -> bytes | None: ...

    def put(self, key: str, content: bytes, content_type: str) -> None: ...


class InvoiceDocuments:
    def __init__(
        self,
        store: DocumentStore,
        settings: Callable[[Scope], TenantSettings],
        tenant_name: Callable[[Scope], str],
        base_url: str | None,
    ):
        self._store, self._settings, self._tenant_name = store, settings, tenant_name
        self._base_url = base_url

    def invoice_pdf(self, scope: Scope, invoice: Invoice) -> bytes:
        key = f"{scope.key}/invoices/{invoice.id}.pdf"
        keep = invoice.status in ("open", "paid", "uncollectible")
        if keep and (stored := self._store.get(key)) is not None:
            return stored
        from billing.invoicing.pdf import render_invoice  # fpdf2 loads only when a PDF is asked for

        content = render_invoice(invoice, self._seller(scope), self.payment_url(invoice))
        if keep:
            self._store.put(key, content, "application/pdf")
        return content

    def payment_url(self, invoice: Invoice) -> str | None:
        """The hosted checkout page of ``invoice`` (none without a configured base URL)."""
        return f"{self._base_url}/pay/{invoice.id}" if self._base_url else None

    def debt_notice(self, scope: Scope, invoice: Invoice, debtor: Debtor, debt: Debt, as_of: date) -> str:
        """Render and keep the final notice's PDF for ``invoice``
        (``{scope}/notices/{id}/debt-notice.pdf``: mailed under that name); its key in the
        document store."""
        from billing.collections.notice_pdf import render_notice

        key = f"{scope.key}/notices/{invoice.id}/debt-notice.pdf"
        content = render_notice(debt, debtor, self._seller(scope), as_of, self.payment_url(invoice))
        self._store.put(key, content, "application/pdf")
        return key

    def _seller(self, scope: Scope) -> Seller:
        from billing.invoicing.pdf import Seller

        settings = self._settings(scope)
        return Seller(
            name=settings.business_name or self._tenant_name(scope),
            address=list(settings.business_address),
            tax_id=settings.tax_id,
            email=settings.support_email,
        )
