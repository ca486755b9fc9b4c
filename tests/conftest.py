"""Shared fixtures: the AWS endpoint, the provisioned stack, and the running platform.

Tests use the endpoint in ``AWS_ENDPOINT_URL`` when one is given (e.g.
LocalStack) and otherwise start their own moto server on a free port. Each
test session provisions its own stack name, so sessions never share tables.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests
from hypothesis import settings

from infra.local.stack import EmbeddedStack, StackConfig

# Property tests assert on results, never on time: Hypothesis' default 200 ms deadline per
# example made them fail on a loaded machine.
settings.register_profile("no_deadline", deadline=None)
settings.load_profile("no_deadline")

# Read before any fixture points this process at its own endpoint.
GIVEN_ENDPOINT = os.environ.get("AWS_ENDPOINT_URL") or None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def stack() -> Iterator[EmbeddedStack]:
    config = StackConfig(
        endpoint_url=GIVEN_ENDPOINT,
        emulator_port=free_port(),
        api_port=free_port(),
        stack_name=f"test-{uuid.uuid4().hex[:8]}",
    )
    embedded = EmbeddedStack(config)
    embedded.start_emulator()
    embedded.provision()
    yield embedded
    embedded.stop()


@dataclass
class Running:
    url: str
    endpoint_url: str
    demo_key: str
    env: dict[str, str]

    def billing(self, *args: str) -> str:
        exe = os.path.join(os.path.dirname(sys.executable), "billing")
        done = subprocess.run([exe, *args], env=self.env, capture_output=True, text=True, check=False, timeout=300)
        assert done.returncode == 0, done.stderr
        return done.stdout


@dataclass
class Started:
    """A `billing up` process: its stdout so far, and the URL and key it printed."""

    process: subprocess.Popen[str]
    running: Running
    output: list[str]
    reader: threading.Thread

    def stop(self, signum: int = signal.SIGTERM) -> int:
        self.process.send_signal(signum)
        try:
            code = self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise
        self.reader.join(timeout=5)  # the last lines of output
        return code


def stack_variables() -> set[str]:
    """The environment variables template.yaml gives its functions (resource names)."""
    from infra import template

    resources = template.transformed()["Resources"]
    return {
        name
        for resource in resources.values()
        if resource["Type"] == "AWS::Lambda::Function"
        for name in resource["Properties"].get("Environment", {}).get("Variables", {})
        if not name.startswith("POWERTOOLS_")
    }


def start_platform() -> Started:
    """`billing up` on free ports, as a newcomer starts it (the given AWS endpoint, if any)."""
    api_port, emulator_port = free_port(), free_port()
    stack_name = f"e2e-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "PORT": str(api_port), "EMULATOR_PORT": str(emulator_port), "STACK_NAME": stack_name}
    for name in ("AWS_ENDPOINT_URL", *stack_variables()):  # another stack of this process set them
        env.pop(name, None)
    if GIVEN_ENDPOINT:
        env["AWS_ENDPOINT_URL"] = GIVEN_ENDPOINT
    exe = os.path.join(os.path.dirname(sys.executable), "billing")
    process = subprocess.Popen([exe, "up"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    demo_key, deadline, lines = None, time.monotonic() + 120, []
    assert process.stdout is not None
    while demo_key is None and time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            break
        lines.append(line)
        if line.strip().startswith("Demo API key:"):
            demo_key = line.split(":", 1)[1].strip()
    if demo_key is None:
        process.kill()
        pytest.fail("billing up did not start:\n" + "".join(lines))
    url = f"http://127.0.0.1:{api_port}"
    assert requests.get(f"{url}/health", timeout=10).status_code == 200
    client_env = {**env, "AWS_ENDPOINT_URL": GIVEN_ENDPOINT or f"http://127.0.0.1:{emulator_port}"}
    # keep reading the server's log so it never blocks on a full pipe
    reader = threading.Thread(target=lambda: lines.extend(process.stdout or []), daemon=True)
    reader.start()
    running = Running(url=url, endpoint_url=client_env["AWS_ENDPOINT_URL"], demo_key=demo_key, env=client_env)
    return Started(process=process, running=running, output=lines, reader=reader)


@pytest.fixture(scope="session")
def running() -> Iterator[Running]:
    """The platform as `make run` starts it, shared by a session's e2e and contract tests. At
    the end it must stop cleanly on SIGTERM (what a service manager sends), as
    tests/e2e/test_lifecycle.py checks of Ctrl-C: one platform fewer to start."""
    started = start_platform()
    yield started.running
    assert started.stop(signal.SIGTERM) == 0, "".join(started.output[-40:])
    assert any("Stopping" in line for line in started.output), "".join(started.output[-40:])
