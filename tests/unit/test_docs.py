"""Every Python snippet of the guide runs as shown (on the memory backend)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "guide.md"
SNIPPETS = re.findall(r"```python\n(.*?)```", GUIDE.read_text(), re.DOTALL)


def test_the_guide_has_snippets() -> None:
    assert len(SNIPPETS) >= 8


@pytest.mark.parametrize("number", range(len(SNIPPETS)))
def test_guide_snippet_runs(number: int, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("REDMEMO_URL", "REDIS_URL", "REDIS_SERVICE_HOST", "REDMEMO_DISABLED"):
        monkeypatch.delenv(name, raising=False)
    code = compile(SNIPPETS[number], f"{GUIDE.name}[{number}]", "exec")
    exec(code, {"__name__": f"guide_snippet_{number}"})
