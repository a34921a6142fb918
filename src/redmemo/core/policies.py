"""Eviction policies of bounded caches (``@cache(maxsize=..., policy=...)``).

A policy says three things, in the manner of cachetools: what an insert records, what a
hit records, and which entry leaves when a full cache takes a new one. Each policy exists
twice with one meaning: here in Python, on :class:`BoundState` (the memory backend uses
it), and in ``backends/redis/lua/bound_*.lua`` on sorted sets, where every step is
O(log n). A differential test replays the same operations on both and compares the
survivors.

The state both sides keep: a rank per entry (a sorted set's score; ties are ordered by
the entry's key, as a sorted set orders equal scores), a sequence counter, the age of an
LFU cache, SIEVE's hand and visited bits, and the time each entry expires.

- ``fifo``: rank = insertion order; hits record nothing; the oldest leaves.
- ``lru``: rank = order of last use; the least recently used leaves.
- ``lru-t``: like ``lru`` with the server's clock (milliseconds) as the rank: no counter
  to bump, at the price of ties within one millisecond (ordered by key).
- ``mru``: like ``lru``, but the most recently used leaves (for cyclic scans).
- ``lfu``: LFU with dynamic aging (LFU-DA, Arlitt et al.): an entry's priority is the
  cache's age plus its use count, set again at each use; the lowest priority leaves and
  becomes the age, so past popularity fades instead of pinning old entries for ever.
  Among equal priorities the least recently used leaves (the rank is ``priority *
  LFU_SPAN + last use``, the last use a counter modulo ``LFU_SPAN``, so that ranks stay
  exact doubles).
- ``random``: a random entry leaves.
- ``sieve``: SIEVE (Zhang et al., NSDI 2024): a FIFO queue with one visited bit per entry
  and a hand that moves from the oldest entry to the newest: a visited entry is spared
  (its bit cleared), the first unvisited one leaves. Hits only set a bit. It keeps a
  better hit ratio than LRU on most web and block traces the paper studies.
"""

from __future__ import annotations

import bisect
import heapq
import random
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from ..errors import ConfigurationError

__all__ = [
    "POLICIES",
    "TOUCHING",
    "BoundSpec",
    "BoundState",
    "BoundsSeen",
    "CacheInfo",
    "Policy",
    "resolve_policy",
]

# An LFU rank: count * LFU_SPAN + (use counter mod LFU_SPAN): ties of counts go to the
# least recently used; exact in a double for counts below 2**32.
LFU_SPAN = 2**21

# Policies whose hits change the ranks (their reads are a script, not a plain GET).
TOUCHING = frozenset({"lru", "lru-t", "mru", "lfu", "sieve"})


class Policy:
    """An eviction policy by name; ``seed`` makes ``random`` repeatable (memory only:
    Redis picks with ZRANDMEMBER)."""

    __slots__ = ("name", "seed")

    def __init__(self, name: str, seed: int | None = None) -> None:
        if name not in POLICIES:
            raise ConfigurationError(
                f"unknown eviction policy {name!r}; the policies are {', '.join(POLICIES)}"
            )
        self.name = name
        self.seed = seed

    @property
    def touches(self) -> bool:
        """Whether a hit changes this policy's state."""
        return self.name in TOUCHING

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Policy) and (self.name, self.seed) == (other.name, other.seed)

    def __hash__(self) -> int:
        return hash((self.name, self.seed))

    def __repr__(self) -> str:
        seed = "" if self.seed is None else f", seed={self.seed}"
        return f"Policy({self.name!r}{seed})"


POLICIES = ("lru", "lru-t", "lfu", "fifo", "mru", "random", "sieve")


def resolve_policy(spec: str | Policy) -> Policy:
    if isinstance(spec, Policy):
        return spec
    if not isinstance(spec, str):
        raise ConfigurationError(
            f"policy must be a name ({', '.join(POLICIES)}) or a redmemo Policy, got {spec!r}"
        )
    return Policy(spec)


class BoundsSeen:
    """Whether this process has a bounded function on a cache: only then do its
    invalidations look for bounded bookkeeping to remove (one more round trip)."""

    __slots__ = ("seen",)

    def __init__(self) -> None:
        self.seen = False


class CacheInfo(NamedTuple):
    """``fn.cache_info()``, in ``functools.lru_cache``'s order."""

    hits: int
    misses: int
    maxsize: int | None
    currsize: int


class BoundSpec(NamedTuple):
    """What a backend needs to keep one entry of a bounded group."""

    rank: str  # the group's sorted set (its other keys derive from this name)
    maxsize: int
    policy: str
    indexes: tuple[str, ...] = ()  # the entry's index memberships, left on eviction
    seed: int | None = None  # ``random`` on memory: a repeatable choice
    touched: tuple[str, ...] = ()  # entries used since this process last told


class _Last:
    """A key ordered backwards, so that a min-heap yields the largest key first."""

    __slots__ = ("raw",)

    def __init__(self, raw: bytes) -> None:
        self.raw = raw

    def __lt__(self, other: _Last) -> bool:
        return self.raw > other.raw

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Last) and self.raw == other.raw

    def __hash__(self) -> int:
        return hash(self.raw)


@dataclass
class BoundState:
    """One group's bookkeeping, as the memory backend keeps it (the Lua scripts keep the
    same in sorted sets and a hash). Times are milliseconds.

    ``ranks`` is the truth; a heap (a max-heap for MRU) finds the victim in O(log n),
    skipping entries made stale by later changes; SIEVE walks its insertion order and
    ``random`` picks from the keys in byte order, each kept sorted by bisection."""

    policy: Policy
    ranks: dict[str, float] = field(default_factory=dict)
    expires: dict[str, float] = field(default_factory=dict)
    visited: set[str] = field(default_factory=set)
    uses: dict[str, int] = field(default_factory=dict)  # LFU: each entry's use count
    seq: int = 0
    age: float = 0.0
    hand: float = -1.0  # SIEVE: the rank the hand points at (-1: the oldest entry)
    rng: random.Random = field(default_factory=random.Random)
    _heap: list[tuple[Any, ...]] = field(default_factory=list)
    _order: list[tuple[float, bytes, str]] = field(default_factory=list)  # sieve, random
    _expiries: list[tuple[float, bytes, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.policy.seed is not None:
            self.rng = random.Random(self.policy.seed)

    def expire(self, key: str, at_ms: float | None) -> None:
        """``key`` expires at ``at_ms`` (None: never)."""
        if at_ms is None:
            self.expires.pop(key, None)
            return
        self.expires[key] = at_ms
        heapq.heappush(self._expiries, (at_ms, key.encode(), key))
        if len(self._expiries) > 2 * len(self.expires) + 64:
            self._expiries = [(at, k.encode(), k) for k, at in self.expires.items()]
            heapq.heapify(self._expiries)

    def expired(self, now_ms: float, limit: int | None = None) -> list[str]:
        """Up to ``limit`` entries past their time, soonest first (as ZRANGEBYSCORE)."""
        found: list[str] = []
        heap = self._expiries
        while heap and heap[0][0] <= now_ms and (limit is None or len(found) < limit):
            at, _, key = heapq.heappop(heap)
            if self.expires.get(key) == at:
                found.append(key)
        return found  # the caller forgets them

    def _ranked(self, key: str, rank: float) -> None:
        self.ranks[key] = rank
        name = self.policy.name
        if name == "mru":
            heapq.heappush(self._heap, (-rank, _Last(key.encode()), key))
        elif name == "random":
            bisect.insort(self._order, (0.0, key.encode(), key))
        elif name == "sieve":
            bisect.insort(self._order, (rank, key.encode(), key))
        else:
            heapq.heappush(self._heap, (rank, key.encode(), key))
            if len(self._heap) > 2 * len(self.ranks) + 64:
                self._heap = [(r, k.encode(), k) for k, r in self.ranks.items()]
                heapq.heapify(self._heap)

    def forget(self, key: str) -> None:
        rank = self.ranks.pop(key, None)
        self.expires.pop(key, None)
        self.visited.discard(key)
        self.uses.pop(key, None)
        if rank is not None and self.policy.name in ("random", "sieve"):
            item = (0.0 if self.policy.name == "random" else rank, key.encode(), key)
            at = bisect.bisect_left(self._order, item)
            if at < len(self._order) and self._order[at] == item:
                del self._order[at]

    def insert(self, key: str, now_ms: float) -> None:
        name = self.policy.name
        if name in ("fifo", "lru", "mru", "sieve"):
            self.seq += 1
            self._ranked(key, self.seq)
        elif name == "lru-t":
            self._ranked(key, now_ms)
        elif name == "lfu":
            self.seq += 1
            self.uses[key] = 1
            self._ranked(key, (self.age + 1) * LFU_SPAN + self.seq % LFU_SPAN)
        else:  # random
            self._ranked(key, 0)

    def touch(self, key: str, now_ms: float) -> None:
        if key not in self.ranks:
            return
        name = self.policy.name
        if name in ("lru", "mru"):
            self.seq += 1
            self._ranked(key, self.seq)
        elif name == "lru-t":
            self._ranked(key, now_ms)
        elif name == "lfu":
            self.seq += 1
            uses = self.uses[key] = self.uses.get(key, 0) + 1
            self._ranked(key, (self.age + uses) * LFU_SPAN + self.seq % LFU_SPAN)
        elif name == "sieve":
            self.visited.add(key)

    def victim(self) -> str | None:
        if not self.ranks:
            return None
        name = self.policy.name
        if name == "random":
            return self._order[self.rng.randrange(len(self._order))][2]
        if name == "sieve":
            return self._sieve()
        while True:  # the best heap item that is still current
            item = self._heap[0]
            key = item[-1]
            rank = -item[0] if name == "mru" else item[0]
            if self.ranks.get(key) == rank:
                break
            heapq.heappop(self._heap)
        if name == "lfu":
            self.age = rank // LFU_SPAN
        return key  # type: ignore[no-any-return]

    def _sieve(self) -> str:
        order = self._order
        for _ in range(2 * len(order) + 1):
            at = bisect.bisect_left(order, (self.hand,)) if self.hand >= 0 else len(order)
            rank, _, candidate = order[at] if at < len(order) else order[0]
            self.hand = rank + 1
            if candidate in self.visited:
                self.visited.discard(candidate)
                continue
            return candidate
        raise AssertionError("SIEVE found no victim in two passes")  # every bit cleared
