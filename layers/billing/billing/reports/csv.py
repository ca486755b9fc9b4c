"""A report as CSV (RFC 4180, UTF-8, CRLF), safe to open in a spreadsheet: a text cell that
begins with ``=``, ``+``, ``-``, ``@`` (or a tab or carriage return) is prefixed with ``'`` so
it is never read as a formula (OWASP's CSV injection rule). Numbers stay numbers: an integer
(a negative amount) is written as it is; an empty cell is ``None``."""

from __future__ import annotations

import csv
import io
from typing import Protocol

from billing.reports.model import Cell

DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


class Tabular(Protocol):
    def rows(self) -> list[list[Cell]]: ...


def neutralized(cell: Cell) -> str | int:
    if cell is None:
        return ""
    if isinstance(cell, str) and cell.startswith(DANGEROUS):
        return "'" + cell
    return cell


def render(report: Tabular) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in report.rows():
        writer.writerow([neutralized(cell) for cell in row])
    return out.getvalue()


def filename(name: str, as_of: str) -> str:
    """``mrr-2026-03-31.csv``."""
    return f"{name}-{as_of}.csv"
