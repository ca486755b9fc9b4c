"""The embedded endpoint for benchmarks: the moto server in a process of its own.

As AWS runs apart from Lambda: in one process the emulator, the API and the consumers would
share one interpreter lock, and the figures would measure that.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def emulator() -> Iterator[str]:
    """Start the emulator; yield its endpoint URL; stop it."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "infra.local.emulator", str(port)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == "ready"
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)
