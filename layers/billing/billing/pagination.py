"""Cursor pagination: ``?limit=&starting_after=`` -> ``{"data", "has_more"}``.

Lists are newest first. The cursor is the id of the last object of the
previous page; ids are time-ordered, so the cursor alone locates the page.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

from billing.errors import InvalidRequest
from billing.ids import is_id

T = TypeVar("T")

DEFAULT_LIMIT = 10
MAX_LIMIT = 100


@dataclass(frozen=True)
class PageRequest:
    limit: int = DEFAULT_LIMIT
    starting_after: str | None = None


@dataclass(frozen=True)
class Page(Generic[T]):
    data: list[T]
    has_more: bool


def page_request(params: Mapping[str, str], id_prefix: str) -> PageRequest:
    """Read ``limit`` and ``starting_after`` from query parameters."""
    raw_limit = params.get("limit")
    limit = DEFAULT_LIMIT
    if raw_limit is not None:
        if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_LIMIT:
            raise InvalidRequest(f"limit must be an integer from 1 to {MAX_LIMIT}.", param="limit")
        limit = int(raw_limit)
    cursor = params.get("starting_after")
    if cursor is not None and not is_id(cursor, id_prefix):
        raise InvalidRequest(f"starting_after must be an id starting with '{id_prefix}_'.", param="starting_after")
    return PageRequest(limit=limit, starting_after=cursor)
