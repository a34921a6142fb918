"""Redis glob patterns: escaping text into them, and matching them without Redis."""

from __future__ import annotations

import re

__all__ = ["compile_glob", "escape_glob"]

_SPECIAL = re.compile(r"([\\*?\[\]])")


def escape_glob(text: str) -> str:
    """``text`` as a Redis MATCH pattern that matches exactly itself."""
    return _SPECIAL.sub(r"\\\1", text)


def compile_glob(pattern: str) -> re.Pattern[str]:
    """A regex that matches what Redis ``SCAN MATCH pattern`` matches (*, ?, [..], \\x)."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "\\" and i + 1 < n:
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        if ch == "*":
            out.append(".*")
        elif ch == "?":
            out.append(".")
        elif ch == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                out.append(re.escape(ch))
            else:
                body = pattern[i + 1 : end]
                negate = body.startswith("^")
                body = body[1:] if negate else body
                out.append(("[^" if negate else "[") + body.replace("\\", "\\\\") + "]")
                i = end + 1
                continue
        else:
            out.append(re.escape(ch))
        i += 1
    return re.compile("".join(out), re.DOTALL)
