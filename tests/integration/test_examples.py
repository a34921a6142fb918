"""Every example runs, on memory and on a real Redis."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_example_runs_on_memory(example: Path) -> None:
    run = subprocess.run([sys.executable, str(example)], capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0, run.stderr


@pytest.mark.redis
@pytest.mark.parametrize("example", ["store_api.py", "decorator.py", "invalidation.py"])
def test_example_runs_on_redis(example: str, redis_url: str) -> None:
    run = subprocess.run(
        [sys.executable, str(ROOT / "examples" / example), redis_url],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert run.returncode == 0, run.stderr


@pytest.mark.redis
def test_the_demo_runs_on_memory_and_on_redis(redis_url: str) -> None:
    for args in ([], [redis_url]):
        run = subprocess.run(
            [sys.executable, "-m", "redmemo.demo", *args], capture_output=True, text=True, cwd=ROOT
        )
        assert run.returncode == 0, run.stderr
        assert "the function ran 1 time(s)" in run.stdout
