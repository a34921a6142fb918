"""Counters of what the cache did for each function (rediscache's Refresh / Wait / Failed /
Missed / Success / Default), kept in process by a hook that every cache has."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterable

from .. import events
from ..events import Event

__all__ = ["FIELDS", "Stats", "StatsHook", "merge"]

FIELDS = (
    "hits",  # served fresh from the cache
    "near_hits",  # of those, served from the near cache's copy, without Redis
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
    """Thread-safe counters of one function; cheap enough for the hit path."""

    __slots__ = ("_counts", "_lock", "near")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts = dict.fromkeys(FIELDS, 0)
        # Near hits take no lock: ``next()`` on a count is one atomic step (the whole hit
        # costs a few microseconds, of which a lock would be a tenth).
        self.near = itertools.count()

    def add(self, name: str, n: int = 1) -> None:
        with self._lock:
            self._counts[name] += n

    def snapshot(self, reset: bool = False) -> dict[str, int]:
        with self._lock:
            counts = dict(self._counts)
            near = self.near
            if reset:
                self._counts = dict.fromkeys(FIELDS, 0)
                self.near = itertools.count()
        served = _count_of(near)  # near hits counted by the hit path, without the lock
        counts["hits"] += served
        counts["near_hits"] += served
        return counts


def _count_of(counter: itertools.count[int]) -> int:
    """Where an ``itertools.count`` stands, without advancing it (its repr is its state)."""
    return int(repr(counter)[6:-1])


# Which counter each kind of event adds to.
STAT_OF: dict[type, str] = {
    events.Hit: "hits",
    events.Miss: "misses",
    events.Stale: "stale",
    events.Fill: "fills",
    events.Refresh: "refreshes",
    events.Wait: "waits",
    events.Takeover: "takeovers",
    events.Overtaken: "overtaken",
    events.Failure: "failures",
    events.Default: "defaults",
    events.BackendFailure: "errors",
}


class StatsHook:
    """Counts each function's events."""

    wants_events = tuple(STAT_OF)

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_function: dict[str, Stats] = {}

    def __call__(self, event: Event) -> None:
        function = getattr(event, "function", None)
        if function is None:
            return
        stats = self._by_function.get(function)
        if stats is None:
            stats = self.of(function)
        with stats._lock:  # Stats.add, inline: this runs on every hit
            stats._counts[STAT_OF[type(event)]] += 1
            if type(event) is events.Hit and event.near:
                stats._counts["near_hits"] += 1

    def of(self, function: str) -> Stats:
        stats = self._by_function.get(function)
        if stats is None:
            with self._lock:
                stats = self._by_function.setdefault(function, Stats())
        return stats

    def totals(self) -> dict[str, dict[str, int]]:
        """Every function's counters, by name."""
        with self._lock:
            items = list(self._by_function.items())
        return {name: stats.snapshot() for name, stats in items}


def merge(snapshots: Iterable[dict[str, int]]) -> dict[str, int]:
    total = dict.fromkeys(FIELDS, 0)
    for snap in snapshots:
        for name, value in snap.items():
            total[name] = total.get(name, 0) + value
    return total
