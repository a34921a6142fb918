"""The pure rules: how old an entry is, and whether to refresh it early.

Nothing here does I/O or reads a clock of its own, so every rule is tested with plain
numbers. Times are wall-clock seconds; ``inf`` means "never".
"""

from __future__ import annotations

import enum
import math
import random
from collections.abc import Callable

from .entry import Entry

__all__ = ["DEFAULT_BETA", "State", "classify", "early_beta"]

DEFAULT_BETA = 1.0


class State(enum.Enum):
    FRESH = "fresh"  # serve it
    STALE = "stale"  # serve it and refresh it once, in the background
    EXPIRED = "expired"  # past ttl: never served, except as a fallback when a fill fails


def classify(
    entry: Entry,
    now: float,
    beta: float = 0.0,
    rand: Callable[[], float] = random.random,
) -> State:
    """Classify ``entry`` at ``now``.

    With ``beta > 0`` a fresh entry may be reported STALE before its refresh time, with a
    probability that grows as that time nears and with how long the value took to compute
    (XFetch: Vattani, Chierichetti and Lowenstein, "Optimal Probabilistic Cache Stampede
    Prevention", VLDB 2015). Hot keys are then refreshed by one early caller before anyone
    sees them stale, while rarely-read keys are almost never refreshed early.
    """
    if now >= entry.expire_at:
        return State.EXPIRED
    if now >= entry.refresh_at:
        return State.STALE
    if beta > 0.0 and entry.compute_time > 0.0:
        target = entry.refresh_at if entry.refresh_at != math.inf else entry.expire_at
        # -log(u) for u in (0, 1] is an exponential draw: usually small, rarely large.
        if now - entry.compute_time * beta * math.log(1.0 - rand()) >= target:
            return State.STALE
    return State.FRESH


def early_beta(early: bool | float) -> float:
    """The XFetch beta for the decorator's ``early=`` option (True means 1.0)."""
    if early is True:
        return DEFAULT_BETA
    if early is False:
        return 0.0
    if isinstance(early, (int, float)) and early >= 0 and math.isfinite(early):
        return float(early)
    raise ValueError(f"early must be True, False or a non-negative beta, got {early!r}")
