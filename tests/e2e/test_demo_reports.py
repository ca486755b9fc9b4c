"""The demo tenant's reports under `make run`: its seeding ends with a rebuild, so MRR, revenue,
aging and debtors have figures at once (the aggregator keeps them from there)."""

from __future__ import annotations

import requests

from tests.conftest import Running


def test_the_demo_fills_the_reports(running: Running) -> None:
    def report(path: str) -> dict[str, object]:
        got = requests.get(f"{running.url}/v1/reports/{path}", headers={"Authorization": f"Bearer {running.demo_key}"},
                           timeout=30)  # fmt: skip
        assert got.status_code == 200, got.text
        body: dict[str, object] = got.json()
        return body

    assert int(str(report("mrr?currency=USD")["mrr"])) > 0
    assert int(str(report("aging?currency=USD")["total"])) > 0
    assert report("debtors?currency=USD")["data"]
    assert report("revenue?currency=USD")["total"]["invoiced"] > 0  # type: ignore[index]
