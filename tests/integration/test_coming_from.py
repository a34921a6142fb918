"""Every code block of docs/coming-from.md runs, against a real Redis, each in a process
of its own (some configure the global registry)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "coming-from.md"


def _blocks() -> list[tuple[str, str]]:
    """(where, code) of each python block: the section it is in and its line."""
    text = PAGE.read_text()
    found = []
    for match in re.finditer(r"^```python\n(.*?)^```$", text, re.S | re.M):
        line = text.count("\n", 0, match.start()) + 1
        headings = re.findall(r"^## (.+)$", text[: match.start()], re.M)
        title = headings[-1].removeprefix("From ").removeprefix("the ") if headings else "top"
        section = title.split()[0]
        found.append((f"{section}-line{line}", match.group(1)))
    return found


BLOCKS = _blocks()


def test_the_page_has_code_for_every_library() -> None:
    sections = {where.split("-line")[0] for where, _ in BLOCKS}
    assert {"rediscache", "cacheme", "read-through", "redis_func_cache", "pycached"} <= sections


@pytest.mark.redis
@pytest.mark.parametrize("code", [c for _, c in BLOCKS], ids=[w for w, _ in BLOCKS])
def test_a_code_block_runs(code: str, redis_url: str) -> None:
    env = {**os.environ, "REDMEMO_URL": redis_url}
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120
    )
    assert run.returncode == 0, run.stderr
