"""Credit notes: the only way to correct a finalized invoice.

A credit note credits some or all of an invoice's charge lines (by amount, up to what is
left of each line after its discounts, earlier credit notes and the prorations of later
invoices that credited its unused time), with the same share of
the line's taxes; without lines, it credits what is left of every line, negative ones
(credits the invoice gave) included. The credit notes of an invoice never total more than
the invoice's total (Stripe's rule). Its total first reduces what the invoice still asks for (``amount_due``);
anything beyond (the invoice was paid) becomes the customer's credit. Numbers are gap-free
per tenant and mode (``{prefix}-CN-{year}-{sequence:06d}``). Each credit note posts the
reverse of what it credits: revenue and tax payable debited, receivable and customer
credit credited. A refund with a credit note asks for one of a total, taxes included
(``credit_total``: ``lines_for_total`` picks the lines).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from billing import ledger
from billing.clock import to_wire
from billing.decimals import to_minor
from billing.errors import Conflict, DomainRuleViolation, InvalidRequest, NotFound
from billing.events import DomainEvent
from billing.ids import found, new_id
from billing.invoicing.lines import Line, TaxAmount
from billing.invoicing.model import Invoice
from billing.money import spread
from billing.pagination import Page, PageRequest, page_request
from billing.scope import Scope
from billing.tenant_settings import TenantSettings
from billing.validation import Input, id_param

Reason = Literal["duplicate", "fraudulent", "order_change", "product_unsatisfactory", "billing_error", "other"]


class CreditLineInput(Input):
    line: Annotated[str, Field(min_length=1, max_length=64)]
    amount: Annotated[int, Field(gt=0, le=10**15)] | None = None  # before tax; default: what is left


class CreditNoteCreate(Input):
    invoice: Annotated[str, Field(min_length=1, max_length=64)]
    lines: Annotated[list[CreditLineInput], Field(max_length=200)] = []  # none: every charge line, whole
    reason: Reason = "other"
    memo: Annotated[str, Field(min_length=1, max_length=500)] | None = None


@dataclass(frozen=True)
class CreditNoteQuery:
    """List filters: an invoice's or a customer's credit notes."""

    invoice: str | None = None
    customer: str | None = None
    page: PageRequest = field(default_factory=PageRequest)

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> CreditNoteQuery:
        """``GET /v1/credit_notes``' query string; a 400 naming a bad parameter."""
        page = page_request(params, "cn")
        return cls(id_param(params, "invoice", "inv"), id_param(params, "customer", "cus"), page)


class CreditNoteLine(BaseModel):
    model_config = ConfigDict(defer_build=True)

    invoice_line: str
    description: str
    amount: int  # credited, before exclusive taxes (inclusive ones are part of it)
    supplier: str | None = None
    tax_amounts: list[TaxAmount] = []


class CreditNote(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    id: str
    object: Literal["credit_note"] = "credit_note"
    livemode: bool
    number: str
    invoice: str
    invoice_number: str | None
    customer: str
    currency: str
    reason: Reason
    memo: str | None = None
    lines: list[CreditNoteLine]
    subtotal: int
    tax_total: int
    total: int
    amount_applied: int  # taken off the invoice's amount due
    amount_credited_to_customer: int  # the rest: customer credit
    created_at: str

    def to_public(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class CreditNoteRepository(Protocol):
    def issue(
        self,
        scope: Scope,
        build: Callable[[int], tuple[CreditNote, Invoice, ledger.JournalEntry, Sequence[DomainEvent]]],
        invoice_revision: int,
    ) -> CreditNote:
        """Take the next credit note number, build with it, and write note, invoice, entry and
        events at once (``Conflict`` if the invoice changed since ``invoice_revision``)."""

    def get(self, scope: Scope, credit_note_id: str) -> CreditNote | None: ...

    def list(
        self, scope: Scope, query: CreditNoteQuery, limit: int, starting_after: str | None
    ) -> Page[CreditNote]: ...


class CreditNotes:
    def __init__(
        self,
        repo: CreditNoteRepository,
        invoice_of: Callable[[Scope, str], Invoice],
        settings: Callable[[Scope], TenantSettings],
        now: Callable[[Scope, str | None], datetime],
        prorated: Callable[[Scope, Invoice], dict[str, int]],
    ):
        self._repo, self._invoice_of, self._settings, self._now = repo, invoice_of, settings, now
        self._prorated = prorated

    def create(self, scope: Scope, data: CreditNoteCreate) -> CreditNote:
        try:
            invoice = self._invoice_of(scope, data.invoice)
        except NotFound:
            raise InvalidRequest(
                f"No such invoice: '{data.invoice}'.", code="resource_missing", param="invoice"
            ) from None
        if invoice.status not in ("open", "paid", "uncollectible"):
            raise Conflict(
                f"Only finalized invoices take credit notes; this one is {invoice.status}.",
                code="invoice_not_finalized",
            )
        taken = self._taken(scope, invoice)
        lines = self._lines(invoice, data, taken)
        now = to_wire(self._now(scope, invoice.test_clock))
        settings = self._settings(scope)
        subtotal = sum(line.amount for line in lines)
        exclusive = sum(t.amount for line in lines for t in line.tax_amounts if not t.inclusive)
        total = subtotal + exclusive
        left = invoice.total - _with_tax(invoice, taken)
        if total <= 0:
            raise DomainRuleViolation("Nothing is left to credit on this invoice.", code="nothing_to_credit")
        if total > left:
            raise DomainRuleViolation(
                f"The credit notes of an invoice total at most its total: {max(left, 0)} is left to credit.",
                code="credit_exceeds_invoice",
                param="lines",
            )
        applied = min(total, invoice.amount_due)
        credited = {**invoice.line_credits}
        for line in lines:
            credited[line.invoice_line] = credited.get(line.invoice_line, 0) + line.amount
        amount_due = invoice.amount_due - applied
        updated = invoice.model_copy(
            update={
                "amount_credited": invoice.amount_credited + total,
                "amount_due": amount_due,
                "line_credits": credited,
                "status": "paid" if invoice.status == "open" and amount_due == 0 else invoice.status,
                "revision": invoice.revision + 1,
            }
        )

        def build(sequence: int) -> tuple[CreditNote, Invoice, ledger.JournalEntry, list[DomainEvent]]:
            note = CreditNote(
                id=new_id("cn"), livemode=scope.livemode, invoice=invoice.id, invoice_number=invoice.number,
                number=f"{settings.invoice_prefix}-CN-{now[:4]}-{sequence:06d}", customer=invoice.customer,
                currency=invoice.currency, reason=data.reason, memo=data.memo, lines=list(lines), subtotal=subtotal,
                tax_total=sum(t.amount for line in lines for t in line.tax_amounts), total=total,
                amount_applied=applied, amount_credited_to_customer=total - applied, created_at=now,
            )  # fmt: skip
            journal = ledger.entry(invoice, "credit_note_issued", now, credit_postings(note), reference=note.id)
            at = datetime.fromisoformat(now)
            events = [
                DomainEvent(type="CreditNoteIssued", scope=scope, occurred_at=at, data={"object": note.to_public()}),
                DomainEvent(type="InvoiceUpdated", scope=scope, occurred_at=at, data={"object": updated.to_public()}),
            ]
            return note, updated, journal, events

        return self._repo.issue(scope, build, invoice.revision)

    def creditable(self, scope: Scope, invoice_id: str) -> int:
        """What credit notes can still take off the invoice, taxes included: its total less
        what earlier credit notes and later invoices' prorations took."""
        invoice = self._invoice_of(scope, invoice_id)
        return invoice.total - _with_tax(invoice, self._taken(scope, invoice))

    def credit_total(
        self, scope: Scope, invoice_id: str, total: int, memo: str, reason: Reason = "other"
    ) -> CreditNote:
        """A credit note of ``total``, taxes included (a refund's: ``billing.payments.refunds``),
        on the lines ``lines_for_total`` picks; refused as ``create`` refuses."""
        invoice = self._invoice_of(scope, invoice_id)
        lines = lines_for_total(invoice, total, self._taken(scope, invoice))
        return self.create(scope, CreditNoteCreate(invoice=invoice_id, lines=lines, reason=reason, memo=memo))

    def _taken(self, scope: Scope, invoice: Invoice) -> dict[str, int]:
        """Per line id: what credit notes and later invoices' prorations took off it."""
        taken = self._prorated(scope, invoice)
        for line_id, amount in invoice.line_credits.items():
            taken[line_id] = taken.get(line_id, 0) + amount
        return taken

    def get(self, scope: Scope, credit_note_id: str) -> CreditNote:
        return found(lambda object_id: self._repo.get(scope, object_id), credit_note_id, "cn", "credit note")

    def list(self, scope: Scope, query: CreditNoteQuery) -> Page[CreditNote]:
        return self._repo.list(scope, query, query.page.limit, query.page.starting_after)

    @staticmethod
    def _lines(invoice: Invoice, data: CreditNoteCreate, taken: dict[str, int]) -> Sequence[CreditNoteLine]:
        """The lines to credit: what is left of each (``taken``: what credit notes and later
        prorations already took off it)."""
        charges = {line.id: line for line in invoice.lines if line.is_charge}
        if not data.lines:  # what is left of every line, credits included: the rest of the invoice
            rest = [(line, line.net - taken.get(line.id, 0)) for line in charges.values()]
            return [_credit_line(line, taken.get(line.id, 0), amount) for line, amount in rest if amount]
        lines: Sequence[CreditNoteLine] = []
        seen = set()
        for index, item in enumerate(data.lines):
            line = charges.get(item.line)
            param = f"lines[{index}]"
            if line is None or item.line in seen:
                raise InvalidRequest(
                    f"No charge line '{item.line}' on this invoice (or named twice).", param=f"{param}.line"
                )
            seen.add(item.line)
            left = line.net - taken.get(line.id, 0)
            amount = left if item.amount is None else item.amount
            if amount <= 0 or amount > left:
                raise DomainRuleViolation(
                    f"At most {max(left, 0)} can be credited on line '{line.id}'.",
                    code="credit_exceeds_line",
                    param=f"{param}.amount",
                )
            lines = [*lines, _credit_line(line, taken.get(line.id, 0), amount)]
        return lines


def lines_for_total(invoice: Invoice, total: int, taken: dict[str, int]) -> list[CreditLineInput]:
    """The lines of a credit note of ``total``, taxes included: none (what is left of every
    line, the whole rest) when ``total`` is all that is left to credit; else ``total`` spread
    over the charge lines in proportion to what is left of each with its taxes (largest
    remainder), each line crediting the least amount whose credit with its taxes covers its
    share. Taxes round per line, so such a note may come to a few minor units more than
    ``total`` (beyond what the invoice has due they are customer credit), never less."""
    rests = [(line, line.net - taken.get(line.id, 0)) for line in invoice.lines if line.is_charge]
    rests = [(line, rest) for line, rest in rests if rest > 0]
    weights = [_gross(line, taken.get(line.id, 0), rest) for line, rest in rests]
    left = invoice.total - _with_tax(invoice, taken)
    if total >= min(left, sum(weights)):
        return []
    lines, gross = [], 0
    for (line, rest), share in zip(rests, spread(total, weights), strict=True):
        if share > 0:
            amount = _covering(line, taken.get(line.id, 0), rest, share)
            lines.append(CreditLineInput(line=line.id, amount=amount))
            gross += _gross(line, taken.get(line.id, 0), amount)
    return [] if gross >= left else lines


def _gross(line: Line, before: int, amount: int) -> int:
    """A credit of ``amount`` of the line (``before`` already credited) with its exclusive taxes."""
    return amount + sum(t.amount for t in _credit_line(line, before, amount).tax_amounts if not t.inclusive)


def _covering(line: Line, before: int, rest: int, share: int) -> int:
    """The least amount of the line, at most ``rest``, whose credit with taxes is ``share`` or more."""
    low, high = 1, rest
    while low < high:
        middle = (low + high) // 2
        if _gross(line, before, middle) >= share:
            high = middle
        else:
            low = middle + 1
    return low


def _with_tax(invoice: Invoice, taken: dict[str, int]) -> int:
    """What ``taken`` off the invoice's lines comes to with their exclusive taxes."""
    total = 0
    for line in invoice.lines:
        if line.id in taken and line.net:
            exclusive = [tax.amount for tax in line.tax_amounts if not tax.inclusive]
            total += taken[line.id] + sum(_share(tax, taken[line.id], line.net) for tax in exclusive)
    return total


def _credit_line(line: Line, before: int, amount: int) -> CreditNoteLine:
    """``amount`` of a line (``before`` already credited), with the same share of its taxes,
    rounded on the cumulated share so that crediting a whole line returns its taxes exactly."""
    taxes = [
        tax.model_copy(
            update={"amount": _share(tax.amount, before + amount, line.net) - _share(tax.amount, before, line.net)}
        )
        for tax in line.tax_amounts
    ]
    return CreditNoteLine(
        invoice_line=line.id, description=line.description, amount=amount, supplier=line.supplier, tax_amounts=taxes
    )


def _share(total: int, part: int, whole: int) -> int:
    return to_minor(Decimal(total) * part / whole)


def credit_postings(note: CreditNote) -> list[ledger.Posting]:
    """The reverse of what the note credits; the customer is credited on ``receivable`` up to
    what the invoice still asked for, and on ``customer_credit`` beyond."""
    postings = []
    for line in note.lines:
        inclusive = sum(t.amount for t in line.tax_amounts if t.inclusive)
        postings.append(ledger.side(ledger.revenue_account(line.supplier), line.amount - inclusive, debit=True))
        postings += [ledger.side(f"tax_payable:{t.tax_rate}", t.amount, debit=True) for t in line.tax_amounts]
    postings.append(ledger.Posting(ledger.RECEIVABLE, credit=note.amount_applied))
    postings.append(ledger.Posting(ledger.CUSTOMER_CREDIT, credit=note.amount_credited_to_customer))
    return postings
