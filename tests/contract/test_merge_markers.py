"""No tracked file keeps a merge's conflict markers (a README once did, committed unnoticed:
Markdown renders them as text, and nothing else reads it)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MARKER = re.compile(r"^(<{7}|={7}|>{7})( |$)", re.MULTILINE)


def test_no_file_keeps_conflict_markers() -> None:
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    marked = []
    for name in tracked:
        path = ROOT / name
        if path.suffix in {".png", ".pdf", ".ttf", ".gz", ".zip"} or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        if MARKER.search(text):
            marked.append(name)
    assert marked == []
