"""Message templates: files of ``templates/{locale}/{name}.txt``, rendered with ``string.Template``.

A file holds sections, each opened by a line ``[name]``: an event's file has ``subject``,
``text`` (the plain-text mail), ``html`` (the HTML mail's body) and ``sms``; ``_layout.txt``
wraps every mail in the tenant's branding (``text`` and ``html``, with ``$body``).

Placeholders are ``$name``; every value is a string, and in ``html`` each is HTML-escaped
(quotes too, so a value is safe in an attribute) before it is put in, whatever it holds: a
customer's name or an invoice number never becomes markup. A line that starts with ``?name ``
is kept (without that prefix) only when ``name`` is not empty, one that starts with ``?!name ``
only when it is empty: the only conditionals. A
placeholder without a value is an error, caught by the tests that render every template.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from string import Template

from billing.notifications.model import Locale

FOLDER = Path(__file__).with_name("templates")
LAYOUT = "_layout"


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str
    sms: str


@cache
def sections(locale: Locale, name: str) -> dict[str, str]:
    """The sections of ``templates/{locale}/{name}.txt`` (read once per container)."""
    found: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in (FOLDER / locale / f"{name}.txt").read_text(encoding="utf-8").splitlines():
        if line.startswith("[") and line.endswith("]") and line[1:-1].isidentifier():
            current = found.setdefault(line[1:-1], [])
        elif current is not None:
            current.append(line)
    return {section: "\n".join(lines).strip("\n") for section, lines in found.items()}


def fill(source: str, values: Mapping[str, str], escape: bool = False, raw: Mapping[str, str] | None = None) -> str:
    """``source`` with its conditional lines resolved and ``values`` put in (HTML-escaped when
    ``escape``); ``raw`` values go in as they are (markup rendered already)."""
    kept = []
    for line in source.splitlines():
        if line.startswith("?"):
            name, _, rest = line[1:].partition(" ")
            negated = name.startswith("!")
            if bool(values.get(name.lstrip("!")) or (raw or {}).get(name.lstrip("!"))) == negated:
                continue
            line = rest
        kept.append(line)
    shown = {name: html.escape(value, quote=True) if escape else value for name, value in values.items()}
    return Template("\n".join(kept)).substitute({**shown, **(raw or {})})


def render(name: str, locale: Locale, values: Mapping[str, str]) -> Rendered:
    """The event template ``name`` in ``locale``, wrapped in the layout. ``values`` holds the
    event's values and the branding's (``business``, ``address``, ``support_email``)."""
    own, layout = sections(locale, name), sections(locale, LAYOUT)
    subject = fill(own["subject"], values).strip()
    text_body, html_body = fill(own["text"], values), fill(own["html"], values, escape=True)
    wrapped = {**values, "subject": subject}
    return Rendered(
        subject=" ".join(subject.split()),  # one line: a header never carries a line break
        text=fill(layout["text"], wrapped, raw={"body": text_body}).strip() + "\n",
        html=fill(layout["html"], wrapped, escape=True, raw={"body": html_body}).strip() + "\n",
        sms=" ".join(fill(own["sms"], values).split()),
    )
