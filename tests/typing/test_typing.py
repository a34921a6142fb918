"""mypy --strict sees the decorated functions' own parameters and return types."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def test_mypy_sees_the_decorated_signatures() -> None:
    sample = HERE / "check_decorator.py"
    run = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(sample)],
        capture_output=True,
        text=True,
        cwd=HERE.parent.parent,
    )
    expected = {
        number
        for number, line in enumerate(sample.read_text().splitlines(), start=1)
        if "# E:" in line
    }
    reported = {
        int(m.group(1)) for m in re.finditer(r"check_decorator\.py:(\d+): error", run.stdout)
    }
    assert reported == expected, run.stdout
