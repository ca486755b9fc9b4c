"""`sam build` builds template.yaml as `sam build && sam deploy` would (no container), and what it
builds can run on the template's Lambda runtime: every compiled wheel is for that runtime's
Python and architecture and needs no newer glibc than the runtime's Amazon Linux has, and each
function with its layers fits Lambda's unzipped size limit.

The SAM CLI lives in its own venv (`make` creates .venv-sam from requirements-sam.txt); it
resolves the layer's and functions' requirements from PyPI, like a deploy does.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from infra import template

SAM = template.ROOT / ".venv-sam" / "bin" / "sam"
# glibc of each runtime's Amazon Linux (python3.12+ run on Amazon Linux 2023).
RUNTIME_GLIBC = {"python3.12": (2, 34), "python3.13": (2, 34), "python3.14": (2, 34)}
ARCHITECTURES = {"arm64": "aarch64", "x86_64": "x86_64"}
UNZIPPED_LIMIT = 250 * 1024 * 1024  # a function and its layers, unzipped
_MANYLINUX = re.compile(r"^manylinux_(\d+)_(\d+)_(\w+)$")
_LEGACY = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    assert SAM.exists(), "run `make .venv-sam/.installed` (make test does) to install the SAM CLI"
    out = tmp_path_factory.mktemp("sam")
    # `sam build` looks for the runtime's `pythonX.Y` on PATH: this venv's, the tests' Python.
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "SAM_CLI_TELEMETRY": "0"}  # fmt: skip
    command = [str(SAM), "build", "--template-file", str(template.TEMPLATE), "--base-dir", str(template.ROOT),
               "--build-dir", str(out / "build"), "--cache-dir", str(out / "cache")]  # fmt: skip
    result = subprocess.run(command, cwd=out, env=env, capture_output=True, text=True, timeout=900, check=False)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return out / "build"


def _supported(tag: str, python: str, architecture: str, glibc: tuple[int, int]) -> bool:
    """Whether a wheel tag (``cp313-cp313-manylinux_2_28_aarch64``) installs on the runtime."""
    interpreter, abi, platform = tag.split("-")
    if platform == "any":
        return interpreter.startswith("py3") or interpreter == python
    if not (interpreter == python or (abi == "abi3" and interpreter <= python)):
        return False
    legacy = platform.rsplit("_", 1)
    if legacy[0] in _LEGACY:
        return legacy[1] == architecture and _LEGACY[legacy[0]] <= glibc
    match = _MANYLINUX.match(platform)
    return bool(match) and match[3] == architecture and (int(match[1]), int(match[2])) <= glibc


def test_tags_are_judged_as_lambda_would() -> None:
    glibc = RUNTIME_GLIBC["python3.13"]
    assert _supported("cp313-cp313-manylinux_2_28_aarch64", "cp313", "aarch64", glibc)
    assert _supported("cp310-abi3-manylinux2014_aarch64", "cp313", "aarch64", glibc)
    assert _supported("py3-none-any", "cp313", "aarch64", glibc)
    assert not _supported("cp313-cp313-manylinux_2_28_aarch64", "cp313", "aarch64", (2, 26))  # Amazon Linux 2
    assert not _supported("cp313-cp313-manylinux_2_28_x86_64", "cp313", "aarch64", glibc)
    assert not _supported("cp312-cp312-manylinux2014_aarch64", "cp313", "aarch64", glibc)


def test_sam_build_builds_what_the_runtime_can_run(built: Path) -> None:
    resources = template.load(built / "template.yaml")["Resources"]
    functions = {name: r for name, r in resources.items() if r["Type"] == "AWS::Serverless::Function"}
    assert functions
    runtime = template.load()["Globals"]["Function"]["Runtime"]
    python = "cp" + runtime.removeprefix("python").replace(".", "")
    (architecture,) = {ARCHITECTURES[a] for a in template.load()["Globals"]["Function"]["Architectures"]}
    layer_dirs = [built / name for name, r in resources.items() if r["Type"] == "AWS::Serverless::LayerVersion"]
    wheels = [wheel for folder in [built / n for n in functions] + layer_dirs for wheel in folder.rglob("WHEEL")]
    assert any("pillow" in str(wheel) for wheel in wheels)  # the compiled pins are there to judge
    for wheel in wheels:
        tags = [line.split(":", 1)[1].strip() for line in wheel.read_text().splitlines() if line.startswith("Tag:")]
        ok = any(_supported(tag, python, architecture, RUNTIME_GLIBC[runtime]) for tag in tags)
        assert ok, f"{wheel.parent.name} ({tags}) cannot run on {runtime} {architecture}"
    layers_size = sum(_size(folder) for folder in layer_dirs)
    for name in functions:
        assert _size(built / name) + layers_size < UNZIPPED_LIMIT, name


def _size(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())
