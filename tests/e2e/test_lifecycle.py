"""`billing up` stops cleanly on Ctrl-C (SIGINT) and on SIGTERM; before, it printed a checkout
link for one of the demo's open invoices, which opens the hosted page (README "Get paid")."""

from __future__ import annotations

import signal
import time

import pytest
import requests

from tests.conftest import start_platform


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_platform_stops_cleanly(signum: int) -> None:
    started = start_platform()
    deadline = time.monotonic() + 30  # printed with the key; the reader thread reads it
    while not (links := [line.split()[3] for line in started.output if line.strip().startswith("Pay an invoice:")]):
        assert time.monotonic() < deadline, "".join(started.output)
        time.sleep(0.1)
    assert links[0].startswith(f"{started.running.url}/pay/")
    page = requests.get(links[0], timeout=10)
    assert page.status_code == 200 and "Pay invoice DEMO-" in page.text and 'data-method="card"' in page.text
    assert started.stop(signum) == 0
    assert any("Stopping" in line for line in started.output)
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{started.running.url}/health", timeout=2)
