"""The near cache: this process's copies of hot entries, which Redis keeps coherent.

Redis tells a tracking connection (``backends/redis/tracking.py``) every key of the
namespace that changes; the copies of those keys are dropped here. What makes that
protocol safe is decided here:

- **Nothing is kept unless tracking is on.** A copy may be kept only while the tracking
  connection is subscribed (``ready``); losing it, or any doubt about it, flushes
  everything, and reads that were in flight are not kept either.
- **The in-flight race.** A read's reply can arrive after the invalidation of a change
  that followed the read on the server. Before its read, a caller takes a *placeholder*
  for the key (:meth:`NearStore.begin`); an invalidation or a flush removes it; the reply
  is kept only if the caller's placeholder is still there (:meth:`NearStore.keep`).
- **A local time bound** (``ttl``) ends any copy, whatever Redis says: a last line of
  defence should a message be lost in a way nobody noticed.

Copies are bounded by entries and, optionally, by bytes, and leave by one of the
bounded-cache policies (``core/policies.py``). A hit records its use without a lock
(appended to a deque); the uses are applied to the policy under the lock on the next
insert, as the Redis bounds do with their held-back hits.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

from ..core.durations import Duration, to_seconds
from ..core.policies import BoundState, Policy, resolve_policy
from ..errors import ConfigurationError

__all__ = ["NEAR_FIELDS", "Held", "NearCache", "NearSignals", "NearStore"]

NEAR_FIELDS = (
    "near_hits",  # served from this process's copy, without Redis
    "near_misses",  # no usable copy: Redis was asked
    "near_invalidations",  # keys Redis said changed (copies held or not)
    "near_flushes",  # the whole near cache emptied (connection lost, FLUSHDB, clear())
    "near_evictions",  # copies that left because the near cache was full
)


class NearCache:
    """Settings of a near cache: ``Cache(url, near=NearCache(maxsize=10_000, ...))``.

    ``maxsize``: copies kept at most. ``max_bytes``: their stored size at most (None: no
    bound by size). ``ttl``: no copy is served longer than this after it was read,
    whatever Redis says. ``policy``: which copy leaves when full (a name of
    ``redmemo.POLICIES``; ``"lru"`` by default).
    """

    __slots__ = ("max_bytes", "maxsize", "policy", "ttl")

    def __init__(
        self,
        maxsize: int = 10_000,
        ttl: Duration = 30,
        max_bytes: int | None = None,
        policy: str | Policy = "lru",
    ) -> None:
        if isinstance(maxsize, bool) or not isinstance(maxsize, int) or maxsize <= 0:
            raise ConfigurationError(f"near maxsize must be a positive int, got {maxsize!r}")
        if max_bytes is not None and (
            isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes <= 0
        ):
            raise ConfigurationError(
                f"near max_bytes must be a positive int or None, got {max_bytes!r}"
            )
        self.maxsize = maxsize
        self.max_bytes = max_bytes
        self.ttl = to_seconds(ttl, name="near ttl")
        if self.ttl <= 0:
            raise ConfigurationError(f"near ttl must be positive, got {ttl!r}")
        self.policy = resolve_policy(policy)

    @classmethod
    def of(cls, spec: bool | NearCache | None) -> NearCache | None:
        """``near=`` as given to ``Cache``: True (the defaults), False/None, or settings."""
        if spec is None or spec is False:
            return None
        if spec is True:
            return cls()
        if isinstance(spec, NearCache):
            return spec
        raise ConfigurationError(
            f"near must be True, False or a redmemo.NearCache, got {type(spec).__name__}"
        )

    def __repr__(self) -> str:
        return (
            f"NearCache(maxsize={self.maxsize}, ttl={self.ttl:g}, max_bytes={self.max_bytes},"
            f" policy={self.policy.name!r})"
        )


class Held:
    """One copy: the entry's bytes as Redis gave them, their decoding (made by the first
    caller that needs it, for the codec it used), and when it stops being served."""

    __slots__ = ("codec", "decoded", "fresh_until", "raw", "until")

    def __init__(self, raw: bytes, until: float) -> None:
        self.raw = raw
        self.until = until  # the local bound (monotonic clock)
        self.codec: object = None
        self.decoded: Any = None
        # Until when a decorated function may serve it without a look at the entry: its
        # refresh time, its expiry and the local bound, the earliest (the cache's clock).
        self.fresh_until = 0.0


def _ignore(*facts: Any) -> None:
    pass


class NearSignals(NamedTuple):
    """What the near cache tells its cache (which turns it into events): Redis said keys
    changed (how many, how many held), everything was dropped (why, how many), copies
    were evicted (how many)."""

    invalidated: Callable[[int, int], None] = _ignore
    flushed: Callable[[str, int], None] = _ignore
    evicted: Callable[[int], None] = _ignore


_SILENT = NearSignals()


class NearStore:
    def __init__(
        self,
        settings: NearCache,
        signals: NearSignals = _SILENT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self._signals = signals
        self._clock = clock
        self._lock = threading.Lock()
        self.data: dict[str, Held] = {}  # read without a lock by the hit path
        self._pending: dict[str, object] = {}  # placeholders of reads in flight
        self._state = BoundState(settings.policy)
        # Uses noted by hits since the last insert (applied then, under the lock).
        self.uses: collections.deque[str] = collections.deque(maxlen=4 * settings.maxsize)
        self._bytes = 0
        self._counts = dict.fromkeys(NEAR_FIELDS, 0)
        # Set by the tracker: copies may be kept only while this is True.
        self.ready = False
        self.connected = threading.Event()

    # -- the hit path ----------------------------------------------------------------------------

    def peek(self, key: str) -> Held | None:
        """The copy of ``key`` if one may be served now, not counted (a decorated
        function counts its own near hits, with its other counters)."""
        held = self.data.get(key)
        if held is None or held.until <= self._clock():
            return None
        self.uses.append(key)
        return held

    def lookup(self, key: str) -> Held | None:
        """:meth:`peek`, counted as a near hit or miss."""
        held = self.peek(key)
        self._count("near_misses" if held is None else "near_hits")
        return held

    def _count(self, name: str) -> None:
        with self._lock:
            self._counts[name] += 1

    # -- keeping what a read brought -------------------------------------------------------------

    def begin(self, key: str) -> object | None:
        """Take the placeholder for a read of ``key`` (None: its reply may not be kept)."""
        if not self.ready:
            return None
        token = object()
        with self._lock:
            self._pending[key] = token
        return token

    def keep(self, key: str, token: object | None, raw: bytes | None) -> None:
        """Keep the reply of the read that took ``token``, if no invalidation or flush
        came since (the placeholder is still ``token``)."""
        if token is None:
            return
        with self._lock:
            if self._pending.get(key) is not token:
                return
            del self._pending[key]
            if raw is None or not self.ready:
                return
            self._insert(key, raw)

    def abandon(self, key: str, token: object | None) -> None:
        """The read that took ``token`` failed: give its placeholder back."""
        if token is None:
            return
        with self._lock:
            if self._pending.get(key) is token:
                del self._pending[key]

    def _insert(self, key: str, raw: bytes) -> None:
        # Under the lock.
        settings = self.settings
        state = self._state
        now_ms = self._clock() * 1000
        uses = self.uses
        while uses:
            state.touch(uses.popleft(), now_ms)
        old = self.data.pop(key, None)
        if old is not None:
            self._bytes -= len(old.raw)
            state.forget(key)
        evicted = 0
        while self.data and (
            len(self.data) >= settings.maxsize
            or (settings.max_bytes is not None and self._bytes + len(raw) > settings.max_bytes)
        ):
            victim = state.victim()
            if victim is None:
                break
            self._forget(victim)
            evicted += 1
        if settings.max_bytes is not None and len(raw) > settings.max_bytes:
            return  # larger than the whole near cache: served from Redis
        self.data[key] = Held(raw, self._clock() + settings.ttl)
        self._bytes += len(raw)
        state.insert(key, now_ms)
        if evicted:
            self._counts["near_evictions"] += evicted
            self._signals.evicted(evicted)

    def _forget(self, key: str) -> bool:
        # Under the lock.
        held = self.data.pop(key, None)
        if held is None:
            return False
        self._bytes -= len(held.raw)
        self._state.forget(key)
        return True

    # -- dropping --------------------------------------------------------------------------------

    def drop(self, keys: Iterable[str]) -> int:
        """This process changed ``keys`` (or is about to know it did): no copy of them,
        and no read of them already in flight, is served again."""
        dropped = 0
        with self._lock:
            for key in keys:
                self._pending.pop(key, None)
                dropped += self._forget(key)
        return dropped

    def invalidated(self, keys: list[str]) -> None:
        """Redis said ``keys`` changed."""
        held = self.drop(keys)
        with self._lock:
            self._counts["near_invalidations"] += len(keys)
        self._signals.invalidated(len(keys), held)

    def flush(self, reason: str = "manual") -> int:
        """Drop every copy and every placeholder (reads in flight are not kept)."""
        with self._lock:
            dropped = len(self.data)
            self.data.clear()
            self._pending.clear()
            self.uses.clear()
            self._bytes = 0
            self._state = BoundState(self.settings.policy)
            self._counts["near_flushes"] += 1
        self._signals.flushed(reason, dropped)
        return dropped

    def lost(self) -> None:
        """The tracking connection is gone or in doubt: keep nothing until it is back."""
        self.ready = False
        self.connected.clear()
        self.flush("connection")

    def tracking(self) -> None:
        """The tracking connection is subscribed again: copies may be kept from now on."""
        self.ready = True
        self.connected.set()

    # -- what users see --------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.data)

    def __contains__(self, key: object) -> bool:
        return key in self.data

    @property
    def bytes(self) -> int:
        return self._bytes

    def stats(self, reset: bool = False) -> dict[str, int]:
        with self._lock:
            counts = dict(self._counts)
            if reset:
                self._counts = dict.fromkeys(NEAR_FIELDS, 0)
        return counts

    def after_fork(self) -> None:
        """In a forked child nothing tracks these copies: start empty and untracked."""
        self._lock = threading.Lock()
        self.ready = False
        self.connected = threading.Event()
        self.flush("fork")
