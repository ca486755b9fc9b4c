"""Schemathesis against the running local API: no 5xx and no response outside the spec."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import Running

SPEC = Path(__file__).resolve().parents[2] / "api_spec" / "openapi.yaml"
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "response_headers_conformance",
    ]
)
SESSION_PAGES = r"^/(portal|dashboard)(?!/start/|/sign-in$)"


def test_running_api_conforms_to_openapi(running: Running, tmp_path: Path) -> None:
    key = json.loads(running.billing("tenant", "create", "--name", "Schemathesis", "--json"))["api_key"]
    exe = os.path.join(os.path.dirname(sys.executable), "schemathesis")
    command = [
        exe, "run", str(SPEC),
        "--url", running.url,
        "--header", f"Authorization: Bearer {key}",
        "--checks", CHECKS,
        "--max-examples", "15",
        # Pages behind a browser session answer every request without its cookie before they
        # read anything (401, or 303 to sign in): fuzzing them tests nothing. Their sign-in
        # and the portal's link are kept; the pages are tested with sessions in
        # tests/integration/test_{portal,dashboard}_pages.py and in a browser (tests/e2e).
        "--exclude-path-regex", SESSION_PAGES,
        "--seed", "20261122",
        "--generation-deterministic",
        "--workers", "2",
        "--request-timeout", "20",
        # The local server (Chalice's, a thread per connection) once dropped a kept-alive
        # connection under a loaded 2-core machine ("Connection aborted"); a network-level
        # failure is retried, every answer is still checked.
        "--request-retries", "2",
        "--report-dir", str(tmp_path),
    ]  # fmt: skip
    # A guard against a hang, not a measure: about 6 minutes alone on 2 cores, three times that
    # with two other suites running.
    result = subprocess.run(command, capture_output=True, text=True, timeout=1800, check=False, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
