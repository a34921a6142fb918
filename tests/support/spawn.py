"""Start and read tests/support/stampede.py processes (used by tests and benchmarks)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def spawn(
    url: str, namespace: str, mode: str, start_at: float, body: float, lease: float = 30.0
) -> subprocess.Popen[str]:
    args = [url, namespace, mode, str(start_at), str(body), str(lease)]
    return subprocess.Popen(
        [sys.executable, "-m", "tests.support.stampede", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def collect(process: subprocess.Popen[str]) -> dict[str, Any]:
    """The JSON report of a finished stampede process (which must have succeeded)."""
    out, err = process.communicate(timeout=120)
    if process.returncode != 0:
        raise AssertionError(f"stampede process failed:\n{err}")
    report: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return report
