"""The pages' words: both languages have every key, every key a template reads exists, and no
key is shadowed by a method of ``dict`` (Jinja reads ``t.items`` as the method, not the word:
the checkout's "What you pay for" heading once showed ``<built-in method items ...>``)."""

from __future__ import annotations

import re
from pathlib import Path

from billing.pages.strings import STRINGS

TEMPLATES = Path(__file__).resolve().parents[2] / "layers/billing/billing/pages/templates"
READ = re.compile(r"""\bt\.(\w+)|\bt\["(\w+)"\]""")


def test_both_languages_have_the_same_words() -> None:
    assert STRINGS["en"].keys() == STRINGS["ru"].keys()


def test_no_word_is_shadowed_by_a_dict_method() -> None:
    assert [key for key in STRINGS["en"] if hasattr(dict, key)] == []


def test_every_word_a_template_reads_exists() -> None:
    read = {
        (path.name, first or second)
        for path in TEMPLATES.rglob("*.html")
        for first, second in READ.findall(path.read_text(encoding="utf-8"))
    }
    assert read, 'the templates read words as t.name or t["name"]'
    assert sorted((name, key) for name, key in read if key not in STRINGS["en"]) == []
