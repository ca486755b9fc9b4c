"""`billing up` stops cleanly on Ctrl-C (SIGINT) and on SIGTERM."""

from __future__ import annotations

import signal

import pytest
import requests

from tests.conftest import start_platform


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_platform_stops_cleanly(signum: int) -> None:
    started = start_platform()
    assert started.stop(signum) == 0
    assert any("Stopping" in line for line in started.output)
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{started.running.url}/health", timeout=2)
