"""`billing up` stops cleanly on Ctrl-C (SIGINT; SIGTERM is checked as the shared ``running``
platform stops); before, it printed a checkout link for one of the demo's open invoices,
which opens the hosted page (README "Get paid")."""

from __future__ import annotations

import signal
import time

import pytest
import requests

from tests.conftest import start_platform


def test_platform_stops_cleanly_on_ctrl_c() -> None:
    started = start_platform()
    deadline = time.monotonic() + 30  # printed with the key; the reader thread reads it
    while not (links := [line.split()[3] for line in started.output if line.strip().startswith("Pay an invoice:")]):
        assert time.monotonic() < deadline, "".join(started.output)
        time.sleep(0.1)
    assert links[0].startswith(f"{started.running.url}/pay/")
    page = requests.get(links[0], timeout=10)
    assert page.status_code == 200 and "Pay invoice DEMO-" in page.text and 'data-method="card"' in page.text
    assert started.stop(signal.SIGINT) == 0
    assert any("Stopping" in line for line in started.output)
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{started.running.url}/health", timeout=2)
