"""The embedded endpoint for benchmarks: the moto server in a process of its own.

As AWS runs apart from Lambda: in one process the emulator, the API and the consumers would
share one interpreter lock, and the figures would measure that.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from infra.local.stack import EmbeddedStack


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


@contextmanager
def provisioned(name: str) -> Iterator[EmbeddedStack]:
    """An embedded stack on an emulator of its own, every resource of template.yaml provisioned
    (its consumers are driven by ``stack.plumbing.drain()``); stopped afterwards."""
    from infra.local.stack import EmbeddedStack, StackConfig

    with emulator() as endpoint:
        config = StackConfig(endpoint_url=endpoint, api_port=free_port(), stack_name=f"{name}-{uuid.uuid4().hex[:6]}")
        stack = EmbeddedStack(config)
        stack.start_emulator()
        stack.provision()
        try:
            yield stack
        finally:
            stack.stop()
