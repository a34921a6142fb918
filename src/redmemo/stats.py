"""Counters of what the cache did for a function (the seed's Refresh / Wait / Failed /
Missed / Success / Default), kept in process and summed per cache."""

from __future__ import annotations

import threading
from collections.abc import Iterable

__all__ = ["FIELDS", "Stats", "merge"]

FIELDS = (
    "hits",  # served fresh from the cache
    "misses",  # nothing usable in the cache
    "stale",  # served a stale value while a refresh ran in the background
    "fills",  # computed a missing value and stored it
    "refreshes",  # recomputed a stale value
    "waits",  # waited for another caller's computation
    "takeovers",  # took over a lease whose holder had gone quiet
    "overtaken",  # computed, but did not store: invalidated or taken over meanwhile
    "failures",  # the function raised (the exception was never cached)
    "defaults",  # returned the default without waiting (wait=False)
    "errors",  # the backend failed and the call went straight to the function
)


class Stats:
    """Thread-safe counters; cheap enough for the hit path."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts = dict.fromkeys(FIELDS, 0)

    def add(self, name: str, n: int = 1) -> None:
        with self._lock:
            self._counts[name] += n

    def snapshot(self, reset: bool = False) -> dict[str, int]:
        with self._lock:
            counts = dict(self._counts)
            if reset:
                self._counts = dict.fromkeys(FIELDS, 0)
        return counts


def merge(snapshots: Iterable[dict[str, int]]) -> dict[str, int]:
    total = dict.fromkeys(FIELDS, 0)
    for snap in snapshots:
        for name, value in snap.items():
            total[name] = total.get(name, 0) + value
    return total
