"""Cursor pagination: ``?limit=&starting_after=`` -> ``{"data", "has_more", "next_starting_after"}``.

``Page`` is the one list envelope: services return one, routes render it with ``to_public``.
A list that is never paged (a subscription's history) is a ``Page.whole`` and its envelope
has no cursor.

Lists are newest first. The cursor is an id; ids are time-ordered, so the cursor alone
locates the page. A filtered list (a status, a meter code ...) reads at most ``MAX_SCANNED``
objects per request, so a rare value never reads a whole partition in one request: when the
bound stops it, the page holds the matches found so far (maybe none) and ``has_more`` is true.
``next_starting_after`` is where the next page starts: the last object *read*, which need
not be in ``data``, so clients page on it rather than on the last object shown.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from billing.errors import InvalidRequest
from billing.ids import is_id

T = TypeVar("T")

DEFAULT_LIMIT = 10
MAX_LIMIT = 100
MAX_SCANNED = 1000


@dataclass(frozen=True)
class PageRequest:
    limit: int = DEFAULT_LIMIT
    starting_after: str | None = None


@dataclass(frozen=True)
class Page(Generic[T]):
    data: list[T]
    has_more: bool
    next_starting_after: str | None = None  # set whenever has_more is
    paged: bool = True  # False: the whole list at once, shown without a cursor

    @classmethod
    def of(cls, data: Iterable[T], cursor: str | None) -> Page[T]:
        """A page of ``data`` that goes on after ``cursor``; None: it is the last."""
        return cls(data=list(data), has_more=cursor is not None, next_starting_after=cursor)

    @classmethod
    def whole(cls, data: Iterable[T]) -> Page[T]:
        """Every item at once: ``has_more`` is always false, and there is no cursor."""
        return cls(data=list(data), has_more=False, paged=False)

    def to_public(self, render: Callable[[T], Any]) -> dict[str, Any]:
        envelope = {"object": "list", "data": [render(item) for item in self.data], "has_more": self.has_more}
        if self.paged:
            envelope["next_starting_after"] = self.next_starting_after if self.has_more else None
        return envelope


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
