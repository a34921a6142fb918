"""A logger that says each kind of problem at most once per interval.

Corrupt entries or an unreachable Redis can occur on every call of a hot loop; logging each
would turn a cache problem into a logging outage.
"""

from __future__ import annotations

import logging
import threading
import time

logger = logging.getLogger("redmemo")

_INTERVAL = 60.0
_lock = threading.Lock()
_last: dict[str, float] = {}
_suppressed: dict[str, int] = {}


def warn_throttled(reason: str, message: str, *args: object, exc_info: bool = False) -> None:
    """Log ``message`` as a warning unless ``reason`` was logged in the last minute."""
    now = time.monotonic()
    with _lock:
        last = _last.get(reason)
        if last is not None and now - last < _INTERVAL:
            _suppressed[reason] = _suppressed.get(reason, 0) + 1
            return
        _last[reason] = now
        skipped = _suppressed.pop(reason, 0)
    if skipped:
        message += " (%d similar messages suppressed)"
        args = (*args, skipped)
    logger.warning(message, *args, exc_info=exc_info)


def reset_throttle() -> None:
    """Forget what was logged (for tests)."""
    with _lock:
        _last.clear()
        _suppressed.clear()
