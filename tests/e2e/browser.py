"""What the pages' browser tests share: Debian's chromium driven by playwright (``make``
installs it; never ``playwright install``), where screenshots go, and axe-core's check."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]  # fmt: skip
ARTIFACTS = Path(os.environ.get("E2E_ARTIFACTS", "/tmp/billing-e2e"))
SERIOUS = ("serious", "critical")

needs_chromium = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium is not installed (make does)")


def accessible(page: Any, name: str = "") -> None:
    """No serious or critical axe-core violation on the page as shown (axe runs as a script:
    the page's context must allow JavaScript)."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    serious = [v for v in results.response["violations"] if v.get("impact") in SERIOUS]
    assert not serious, f"{name or page.url}: {results.generate_report()}"


def shown(page: Any, selector: str, timeout: float = 30_000) -> None:
    """Wait for ``selector``; if it never shows, fail with the page's address and text (what a
    refusal said), not only a timeout."""
    from playwright.sync_api import TimeoutError as Timeout

    try:
        page.wait_for_selector(selector, timeout=timeout)
    except Timeout:
        pytest.fail(f"{selector} never showed on {page.url}:\n{page.inner_text('body')[:2000]}")
