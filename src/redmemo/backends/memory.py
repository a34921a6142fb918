"""The embedded in-process backend: the default when no Redis is configured.

It keeps the bytes Redis would keep, with the semantics of the Lua scripts (leases,
registrations, invalidation), so that code behaves alike on both; the shared behaviour
tests (``tests/integration/test_backend_contract.py``) hold the two together. Values are
copied in and out, never shared. Safe under threads and asyncio: every operation holds a
lock for a few dict operations.

Entries and bookkeeping live apart: ``maxsize`` bounds entries only, so an eviction can
never drop a lease, a wait flag, an index or an invalidation marker.
"""

from __future__ import annotations

import heapq
import re
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

from ..coordination.leases import (
    Lease,
    LeaseMode,
    LeaseRequest,
    LeaseStatus,
    Notice,
    StoreRequest,
)
from ..core.glob import compile_glob
from ..core.keyspace import Keyspace
from ..core.policies import BoundSpec, BoundState, Policy
from ..errors import NotACounterError

__all__ = ["MARKER_MS", "AsyncMemoryBackend", "MemoryBackend", "MemoryStore", "named_store"]

_INF = float("inf")
# What Redis INCRBY accepts: an integer in canonical form (no "007", no "-0", no "+1").
_COUNTER = re.compile(rb"0|-?[1-9][0-9]{0,18}")
# How long an invalidation marker lives, and so the longest a fill with dependencies may
# run and still store (register.lua); shared with the Redis backend.
MARKER_MS = 3_600_000

Listener = Callable[[str, Notice, bytes], None]


def _micros(now: float) -> int:
    return int(now * 1_000_000)


class MemoryStore:
    """The data: entries (optionally LRU-bounded) and the bookkeeping of fills.

    Expired entries are dropped when read, and a heap of expiry times lets every write
    sweep the ones nobody reads again, so an unbounded store keeps no dead keys forever.
    """

    def __init__(self, maxsize: int | None = None, clock: Callable[[], float] = time.time) -> None:
        self.maxsize = maxsize
        self.clock = clock
        self.lock = threading.RLock()
        self.data: OrderedDict[str, tuple[bytes, float]] = OrderedDict()
        self._expiries: list[tuple[float, str]] = []
        # Bookkeeping, never bounded by maxsize: entry -> (token, start µs, expires_at).
        self.leases: dict[str, tuple[bytes, int, float]] = {}
        self.flags: dict[str, float] = {}  # entry -> when the wait flag expires
        self.markers: dict[str, tuple[int, float]] = {}  # index -> (µs, expires_at)
        # Indexes: index -> {entry: when its registration ends}. Like the sorted sets of
        # register.lua, an index drops expired members when written to and expires whole
        # with its longest-lived member (a heap of those times).
        self.indexes: dict[str, dict[str, float]] = {}
        self._index_last: dict[str, float] = {}
        self._index_pruned: dict[str, int] = {}
        self._index_expiries: list[tuple[float, str]] = []
        self._swept_size = 0
        # Bounded groups (core/policies.py), as lua/bound_*.lua keep them in Redis: the
        # group's state by its ranks key, and each bounded entry's group and indexes.
        self.bounds: dict[str, BoundState] = {}
        self.bound_of: dict[str, tuple[str, tuple[str, ...]]] = {}
        # Called (outside the lock) when a fill is stored or given back, to wake callers
        # of this process that wait for it. Weak: a shared store outlives its caches.
        self.listeners: list[weakref.WeakMethod[Listener]] = []

    def after_fork(self) -> None:
        """In a forked child, threads that held the lock are gone: make a new one."""
        self.lock = threading.RLock()

    # -- entries (call with the lock held) ------------------------------------------------

    def live(self, key: str, now: float) -> tuple[bytes, float] | None:
        item = self.data.get(key)
        if item is None:
            return None
        if item[1] <= now:
            del self.data[key]
            return None
        if self.maxsize is not None:
            self.data.move_to_end(key)
        return item

    def put(self, key: str, value: bytes, expires_at: float) -> None:
        self.data[key] = (value, expires_at)
        self.data.move_to_end(key)
        if expires_at != _INF:
            heapq.heappush(self._expiries, (expires_at, key))
        self.sweep()
        if self.maxsize is not None:
            while len(self.data) > self.maxsize:
                self.data.popitem(last=False)

    def sweep(self) -> None:
        now = self.clock()
        heap = self._expiries
        while heap and heap[0][0] <= now:
            expires_at, key = heapq.heappop(heap)
            item = self.data.get(key)
            if item is not None and item[1] == expires_at:
                del self.data[key]
        if self._index_expiries:
            self._sweep_indexes(now)
        # Overwrites leave outdated heap items behind; rebuild when they dominate.
        if len(heap) > 64 and len(heap) > 2 * len(self.data):
            self._expiries = [(exp, k) for k, (_, exp) in self.data.items() if exp != _INF]
            heapq.heapify(self._expiries)
        size = len(self.leases) + len(self.flags) + len(self.markers)
        if size > max(64, 2 * self._swept_size):
            self._sweep_bookkeeping(now)

    def _sweep_bookkeeping(self, now: float) -> None:
        """Drop leases of fills that died, flags and markers past their time (amortized:
        only when they have doubled since the last sweep)."""
        for key in [k for k, v in self.leases.items() if v[2] <= now]:
            del self.leases[key]
        for key in [k for k, exp in self.flags.items() if exp <= now]:
            del self.flags[key]
        for key in [k for k, v in self.markers.items() if v[1] <= now]:
            del self.markers[key]
        self._swept_size = len(self.leases) + len(self.flags) + len(self.markers)

    def lease_of(self, key: str, now: float) -> tuple[bytes, int, float] | None:
        held = self.leases.get(key)
        if held is not None and held[2] <= now:
            del self.leases[key]
            return None
        return held

    def take_flag(self, key: str, now: float) -> bool:
        """Remove the key's wait flag; whether somebody was waiting."""
        expires_at = self.flags.pop(key, None)
        return expires_at is not None and expires_at > now

    # -- indexes (call with the lock held) ------------------------------------------------

    def register(self, index: str, key: str, ends_at: float, now: float) -> None:
        members = self.indexes.setdefault(index, {})
        if members.get(key, -_INF) < ends_at:  # ZADD GT
            members[key] = ends_at
        # Prune expired members when the index has doubled since it was last pruned:
        # amortized constant work per registration; at most twice its live size.
        if len(members) >= max(64, 2 * self._index_pruned.get(index, 0)):
            for member in [k for k, end in members.items() if end <= now]:
                del members[member]
            self._index_pruned[index] = len(members)
        last = self._index_last.get(index, 0.0)
        if ends_at > last:
            self._index_last[index] = ends_at
            if ends_at != _INF:
                heapq.heappush(self._index_expiries, (ends_at, index))

    def _sweep_indexes(self, now: float) -> None:
        """Drop whole indexes whose longest-lived member has expired."""
        heap = self._index_expiries
        while heap and heap[0][0] <= now:
            ends_at, index = heapq.heappop(heap)
            if self._index_last.get(index) == ends_at:
                self.take_index(index)

    # -- bounded groups (call with the lock held) --------------------------------------------

    def unbound(self, key: str) -> None:
        """``key`` leaves its bounded group's bookkeeping (it was invalidated or evicted)."""
        found = self.bound_of.pop(key, None)
        if found is not None:
            state = self.bounds.get(found[0])
            if state is not None:
                state.forget(key)

    def bound_insert(self, key: str, bound: BoundSpec, ttl_ms: int | None, now: float) -> int:
        """lua/bound_store.lua after the SET: record ``key``, evict; returns evictions."""
        state = self.bounds.get(bound.rank)
        if state is None:
            state = self.bounds[bound.rank] = BoundState(Policy(bound.policy, bound.seed))
        now_ms = int(now * 1000)
        for member in state.expired(now_ms, 16):
            self.unbound(member)
            state.forget(member)
        evicted = 0
        if key in state.ranks:
            state.touch(key, now_ms)  # stored again: a use
        else:
            while len(state.ranks) >= bound.maxsize:
                victim = state.victim()
                if victim is None:
                    break
                evicted += self.evict(victim, state, now)
            state.insert(key, now_ms)
        state.expire(key, None if ttl_ms is None else now_ms + ttl_ms)
        self.bound_of[key] = (bound.rank, bound.indexes)
        return evicted

    def evict(self, victim: str, state: BoundState, now: float) -> int:
        found = self.bound_of.pop(victim, None)
        for index in found[1] if found is not None else ():
            members = self.indexes.get(index)
            if members is not None:
                members.pop(victim, None)
        state.forget(victim)
        alive = self.live(victim, now) is not None
        self.data.pop(victim, None)
        return int(alive)

    def take_index(self, index: str) -> list[str]:
        self._index_last.pop(index, None)
        self._index_pruned.pop(index, None)
        return list(self.indexes.pop(index, {}))

    def listen(self, listener: Listener) -> None:
        self.listeners.append(weakref.WeakMethod(listener))

    def notify(self, woken: Sequence[tuple[str, Notice, bytes]]) -> None:
        """Wake waiters (call without the lock)."""
        if not woken:
            return
        alive = [listener for ref in list(self.listeners) if (listener := ref()) is not None]
        if len(alive) < len(self.listeners):
            self.listeners = [weakref.WeakMethod(listener) for listener in alive]
        for key, kind, entry in woken:
            for listener in alive:
                listener(key, kind, entry)

    def __len__(self) -> int:
        with self.lock:
            self.sweep()
            return len(self.data)


_NAMED: dict[str, MemoryStore] = {}
_NAMED_LOCK = threading.Lock()


def named_store(name: str, maxsize: int | None, clock: Callable[[], float]) -> MemoryStore:
    """The process's store called ``name`` (``memory://name``), made on first use."""
    with _NAMED_LOCK:
        store = _NAMED.get(name)
        if store is None:
            store = _NAMED[name] = MemoryStore(maxsize, clock)
        elif maxsize is not None and store.maxsize != maxsize:
            raise ValueError(
                f"memory://{name} exists already with maxsize={store.maxsize}, not {maxsize}"
            )
        return store


class MemoryBackend:
    """One namespace's view of a :class:`MemoryStore`: the backend protocol, sync face."""

    def __init__(self, store: MemoryStore, keyspace: Keyspace) -> None:
        self.store = store
        self.keyspace = keyspace

    # -- plain operations -----------------------------------------------------------------

    def get(self, key: str) -> bytes | None:
        store = self.store
        with store.lock:
            item = store.live(key, store.clock())
            return None if item is None else item[0]

    def read_touch(self, key: str, bound: BoundSpec) -> bytes | None:
        store = self.store
        with store.lock:
            now = store.clock()
            state = store.bounds.get(bound.rank)
            if state is not None:
                for used in bound.touched:
                    state.touch(used, int(now * 1000))
            item = store.live(key, now)
            if item is None:
                return None
            if state is not None:
                state.touch(key, int(now * 1000))
            return item[0]

    def index_size(self, index: str) -> int:
        store = self.store
        with store.lock:
            now = store.clock()
            return sum(1 for ends in store.indexes.get(index, {}).values() if ends > now)

    def bound_size(self, bound: BoundSpec) -> int:
        store = self.store
        with store.lock:
            state = store.bounds.get(bound.rank)
            if state is None:
                return 0
            for member in state.expired(int(store.clock() * 1000)):
                store.unbound(member)
                state.forget(member)
            return len(state.ranks)

    def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        store = self.store
        with store.lock:
            now = store.clock()
            return [None if (item := store.live(k, now)) is None else item[0] for k in keys]

    def set(self, key: str, value: bytes, ttl_ms: int | None) -> None:
        store = self.store
        with store.lock:
            store.put(key, value, _expiry(ttl_ms, store.clock()))

    def add(self, key: str, value: bytes, ttl_ms: int | None) -> bool:
        store = self.store
        with store.lock:
            now = store.clock()
            if store.live(key, now) is not None:
                return False
            store.put(key, value, _expiry(ttl_ms, now))
            return True

    def set_many(self, items: Sequence[tuple[str, bytes]], ttl_ms: int | None) -> None:
        store = self.store
        with store.lock:
            expires_at = _expiry(ttl_ms, store.clock())
            for key, value in items:
                store.put(key, value, expires_at)

    def exists(self, key: str) -> bool:
        store = self.store
        with store.lock:
            return store.live(key, store.clock()) is not None

    def replace(self, key: str, observed: bytes, value: bytes, ttl_ms: int | None) -> bool:
        store = self.store
        with store.lock:
            now = store.clock()
            item = store.live(key, now)
            if item is None or item[0] != observed:
                return False
            store.put(key, value, _expiry(ttl_ms, now))
            return True

    def incr(self, key: str, delta: int) -> int:
        store = self.store
        with store.lock:
            item = store.live(key, store.clock())
            if item is None:
                current, expires_at = 0, _INF
            elif _COUNTER.fullmatch(item[0]):
                current, expires_at = int(item[0]), item[1]
            else:
                raise NotACounterError(
                    f"cannot increment {self.keyspace.describe(key)!r}: it holds a value "
                    "that is not an integer counter"
                )
            result = current + delta
            if not -(2**63) <= result < 2**63:
                raise NotACounterError(
                    f"incrementing {self.keyspace.describe(key)!r} would overflow a 64-bit counter"
                )
            store.put(key, str(result).encode(), expires_at)
            return result

    def expire(self, key: str, ttl_ms: int | None) -> bool:
        store = self.store
        with store.lock:
            now = store.clock()
            item = store.live(key, now)
            if item is None:
                return False
            store.put(key, item[0], _expiry(ttl_ms, now))
            return True

    def ttl_ms(self, key: str) -> int | None:
        """Milliseconds left; None when the key is absent or has no expiry."""
        store = self.store
        with store.lock:
            now = store.clock()
            item = store.live(key, now)
            if item is None or item[1] == _INF:
                return None
            return max(0, round((item[1] - now) * 1000))

    def delete(self, keys: Sequence[str]) -> int:
        store = self.store
        with store.lock:
            now = store.clock()
            count = 0
            for key in keys:
                if store.live(key, now) is not None:
                    del store.data[key]
                    count += 1
            return count

    def scan(self, pattern: str) -> list[str]:
        """The entries, stored or being filled, whose user key matches the glob."""
        regex = compile_glob(pattern)
        space = self.keyspace
        store = self.store
        with store.lock:
            now = store.clock()
            candidates = [k for k, (_, exp) in store.data.items() if exp > now]
            candidates += [k for k, held in store.leases.items() if held[2] > now]
        found = set()
        for key in candidates:
            body = space.body(key)
            if body is not None and regex.fullmatch(body):
                found.add(key)
        return sorted(found)

    def raw(self, command: str, *args: Any) -> Any:
        """A few Redis commands on the entries, for parity with ``Cache.raw`` on Redis."""
        name = command.upper()
        if name == "PING":
            return True
        if name == "GET":
            return self.get(str(args[0]))
        if name == "SET":
            value = args[1] if isinstance(args[1], bytes) else str(args[1]).encode()
            self.set(str(args[0]), value, None)
            return True
        if name in ("DEL", "UNLINK"):
            return self.delete([str(a) for a in args])
        if name == "EXISTS":
            return sum(self.exists(str(a)) for a in args)
        if name == "PTTL":
            return self._ttl_code(str(args[0]), 1)
        if name == "TTL":
            return self._ttl_code(str(args[0]), 1000)
        if name == "KEYS":
            regex = compile_glob(str(args[0]) if args else "*")
            with self.store.lock:
                now = self.store.clock()
                live = [k for k, (_, exp) in self.store.data.items() if exp > now]
            return [k.encode() for k in live if regex.fullmatch(k)]
        if name == "DBSIZE":
            return len(self.store)
        raise NotImplementedError(
            f"the memory backend does not emulate {command!r}; it knows PING, GET, SET, DEL, "
            "UNLINK, EXISTS, TTL, PTTL, KEYS and DBSIZE"
        )

    def _ttl_code(self, key: str, unit_ms: int) -> int:
        if not self.exists(key):
            return -2
        left = self.ttl_ms(key)
        return -1 if left is None else left // unit_ms

    # -- leases, registrations and invalidation: the semantics of lua/*.lua -----------------

    def lease(
        self,
        key: str,
        token: bytes,
        lease_ms: int,
        mode: LeaseMode,
        indexes: Sequence[str] = (),
        ttl_ms: int | None = None,
    ) -> Lease:
        store = self.store
        with store.lock:
            now = store.clock()
            reply = self._lease(key, token, lease_ms, mode, now)
            ends_at = _INF if ttl_ms is None else now + (lease_ms + ttl_ms) / 1000.0
            for index in indexes:
                store.register(index, key, ends_at, now)
            return reply

    def _lease(self, key: str, token: bytes, lease_ms: int, mode: LeaseMode, now: float) -> Lease:
        store = self.store
        if mode is LeaseMode.FILL:
            item = store.live(key, now)
            if item is not None:
                return Lease(LeaseStatus.ENTRY, item[0])
        started = _micros(now)
        held = store.lease_of(key, now)
        if held is None or mode is LeaseMode.TAKE:
            store.leases[key] = (token, started, now + lease_ms / 1000.0)
            store.sweep()  # leases of fills that died leave here, as entries do
            return Lease(LeaseStatus.ACQUIRED, started_us=started)
        if held[0] == token:  # our own request again (lease.lua does the same)
            return Lease(LeaseStatus.ACQUIRED, started_us=held[1])
        left = max(1, round((held[2] - now) * 1000))
        if mode is not LeaseMode.REFRESH:
            store.flags[key] = held[2]
        return Lease(LeaseStatus.HELD, left_ms=left)

    def store_leased(
        self,
        key: str,
        token: bytes,
        entry: bytes,
        ttl_ms: int | None,
        late: Sequence[str] = (),
        started_us: int = 0,
        bound: BoundSpec | None = None,
    ) -> bool:
        store = self.store
        with store.lock:
            now = store.clock()
            used_before = store.bounds.get(bound.rank) if bound is not None else None
            if used_before is not None and bound is not None:  # as bound_store.lua: first
                for used in bound.touched:
                    used_before.touch(used, int(now * 1000))
            held = store.lease_of(key, now)
            if held is None or held[0] != token:
                return False
            refused = any(self._refuses(index, started_us, now) for index in late)
            if not refused:
                ends_at = _INF if ttl_ms is None else now + ttl_ms / 1000.0
                for index in late:
                    store.register(index, key, ends_at, now)
                store.put(key, entry, _expiry(ttl_ms, now))
                if bound is not None:
                    store.bound_insert(key, bound, ttl_ms, now)
            del store.leases[key]
            waited = store.take_flag(key, now)
        if waited:
            store.notify([(key, Notice.WAKE, b"") if refused else (key, Notice.VALUE, entry)])
        return not refused

    def _refuses(self, index: str, started_us: int, now: float) -> bool:
        """register.lua's check: was ``index`` invalidated after the fill began?"""
        if _micros(now) - started_us >= MARKER_MS * 1000:
            return True
        marker = self.store.markers.get(index)
        return marker is not None and marker[1] > now and marker[0] >= started_us

    def lease_many(self, requests: Sequence[LeaseRequest]) -> list[Lease]:
        return [
            self.lease(r.key, r.token, r.lease_ms, r.mode, r.indexes, r.ttl_ms) for r in requests
        ]

    def store_many(self, requests: Sequence[StoreRequest]) -> list[bool]:
        return [
            self.store_leased(r.key, r.token, r.entry, r.ttl_ms, bound=r.bound) for r in requests
        ]

    def release(self, key: str, token: bytes) -> None:
        store = self.store
        with store.lock:
            now = store.clock()
            held = store.lease_of(key, now)
            if held is None or held[0] != token:
                return
            del store.leases[key]
            waited = store.take_flag(key, now)
        if waited:
            store.notify([(key, Notice.WAKE, b"")])

    def extend(self, key: str, token: bytes, lease_ms: int) -> bool:
        store = self.store
        with store.lock:
            now = store.clock()
            held = store.lease_of(key, now)
            if held is None or held[0] != token:
                return False
            expires_at = now + lease_ms / 1000.0
            store.leases[key] = (held[0], held[1], expires_at)
            if key in store.flags:
                store.flags[key] = expires_at
            return True

    # -- locks ------------------------------------------------------------------------------

    def lock(self, key: str, fence: str, token: bytes, ttl_ms: int) -> int:
        store = self.store
        with store.lock:
            now = store.clock()
            item = store.live(key, now)
            if item is not None:
                if item[0] != token:
                    return 0
                counted = store.live(fence, now)
                return int(counted[0]) if counted is not None else 0
            store.put(key, token, now + ttl_ms / 1000.0)
            counted = store.live(fence, now)
            number = (int(counted[0]) if counted is not None else 0) + 1
            store.put(fence, str(number).encode(), _INF)
            return number

    def unlock(self, key: str, token: bytes) -> bool:
        store = self.store
        with store.lock:
            item = store.live(key, store.clock())
            if item is None or item[0] != token:
                return False
            del store.data[key]
            return True

    def relock(self, key: str, token: bytes, ttl_ms: int) -> bool:
        store = self.store
        with store.lock:
            now = store.clock()
            item = store.live(key, now)
            if item is None or item[0] != token:
                return False
            store.put(key, token, now + ttl_ms / 1000.0)
            return True

    def invalidate(self, keys: Sequence[str], indexes: Sequence[str] = ()) -> int:
        store = self.store
        space = self.keyspace
        woken: list[tuple[str, Notice, bytes]] = []
        with store.lock:
            now = store.clock()
            members: dict[str, None] = {}
            for key in keys:
                dependents = space.dependents(key)
                members.update(dict.fromkeys(store.take_index(dependents)))
                store.markers[dependents] = (_micros(now), now + MARKER_MS / 1000.0)
            for index in indexes:
                members.update(dict.fromkeys(store.take_index(index)))
            removed = 0
            named = set(keys)
            for key in [*keys, *(m for m in members if m not in named)]:
                if store.live(key, now) is not None:
                    del store.data[key]
                    removed += 1
                store.unbound(key)
                store.leases.pop(key, None)
                if store.take_flag(key, now):
                    woken.append((key, Notice.WAKE, b""))
        store.notify(woken)
        return removed

    def clear(self) -> int:
        """Every entry and every piece of bookkeeping of this namespace."""
        store = self.store
        prefix = self.keyspace.prefix
        with store.lock:
            now = store.clock()
            entries = {k for k in store.data if self.keyspace.is_entry(k)}  # ours only
            entries.update(k for k in store.leases if k.startswith(prefix))
            woken = [(k, Notice.WAKE, b"") for k in store.flags if k.startswith(prefix)]
            removed = sum(1 for k in entries if store.live(k, now) is not None)
            for key in entries:
                store.data.pop(key, None)
                store.leases.pop(key, None)
            for key, _, _ in woken:
                store.flags.pop(key, None)
            for index in [i for i in store.indexes if i.startswith(prefix)]:
                store.take_index(index)
            for index in [i for i in store.markers if i.startswith(prefix)]:
                del store.markers[index]
            for rank in [r for r in store.bounds if r.startswith(prefix)]:
                del store.bounds[rank]
            for key in [k for k in store.bound_of if k.startswith(prefix)]:
                del store.bound_of[key]
        store.notify(woken)
        return removed

    def listen(self) -> bool:
        return True  # notices are direct calls: nothing to subscribe to, nothing missed

    def close(self) -> None:
        """Nothing to release; the data stays for the life of the process."""


def _expiry(ttl_ms: int | None, now: float) -> float:
    return _INF if ttl_ms is None else now + ttl_ms / 1000.0


class AsyncMemoryBackend:
    """The async face of a :class:`MemoryBackend`: same data, awaitable methods.

    Every operation is a few dict steps under a lock, so it runs inline and never blocks
    the event loop for long. Written by hand because it only delegates.
    """

    def __init__(self, backend: MemoryBackend) -> None:
        self.sync = backend
        self.keyspace = backend.keyspace

    async def get(self, key: str) -> bytes | None:
        return self.sync.get(key)

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        return self.sync.get_many(keys)

    async def set(self, key: str, value: bytes, ttl_ms: int | None) -> None:
        self.sync.set(key, value, ttl_ms)

    async def add(self, key: str, value: bytes, ttl_ms: int | None) -> bool:
        return self.sync.add(key, value, ttl_ms)

    async def set_many(self, items: Sequence[tuple[str, bytes]], ttl_ms: int | None) -> None:
        self.sync.set_many(items, ttl_ms)

    async def exists(self, key: str) -> bool:
        return self.sync.exists(key)

    async def replace(self, key: str, observed: bytes, value: bytes, ttl_ms: int | None) -> bool:
        return self.sync.replace(key, observed, value, ttl_ms)

    async def incr(self, key: str, delta: int) -> int:
        return self.sync.incr(key, delta)

    async def expire(self, key: str, ttl_ms: int | None) -> bool:
        return self.sync.expire(key, ttl_ms)

    async def ttl_ms(self, key: str) -> int | None:
        return self.sync.ttl_ms(key)

    async def delete(self, keys: Sequence[str]) -> int:
        return self.sync.delete(keys)

    async def scan(self, pattern: str) -> list[str]:
        return self.sync.scan(pattern)

    async def raw(self, command: str, *args: Any) -> Any:
        return self.sync.raw(command, *args)

    async def lease(
        self,
        key: str,
        token: bytes,
        lease_ms: int,
        mode: LeaseMode,
        indexes: Sequence[str] = (),
        ttl_ms: int | None = None,
    ) -> Lease:
        return self.sync.lease(key, token, lease_ms, mode, indexes, ttl_ms)

    async def lease_many(self, requests: Sequence[LeaseRequest]) -> list[Lease]:
        return self.sync.lease_many(requests)

    async def store_many(self, requests: Sequence[StoreRequest]) -> list[bool]:
        return self.sync.store_many(requests)

    async def lock(self, key: str, fence: str, token: bytes, ttl_ms: int) -> int:
        return self.sync.lock(key, fence, token, ttl_ms)

    async def unlock(self, key: str, token: bytes) -> bool:
        return self.sync.unlock(key, token)

    async def relock(self, key: str, token: bytes, ttl_ms: int) -> bool:
        return self.sync.relock(key, token, ttl_ms)

    async def store_leased(
        self,
        key: str,
        token: bytes,
        entry: bytes,
        ttl_ms: int | None,
        late: Sequence[str] = (),
        started_us: int = 0,
        bound: BoundSpec | None = None,
    ) -> bool:
        return self.sync.store_leased(key, token, entry, ttl_ms, late, started_us, bound)

    async def read_touch(self, key: str, bound: BoundSpec) -> bytes | None:
        return self.sync.read_touch(key, bound)

    async def bound_size(self, bound: BoundSpec) -> int:
        return self.sync.bound_size(bound)

    async def index_size(self, index: str) -> int:
        return self.sync.index_size(index)

    async def release(self, key: str, token: bytes) -> None:
        self.sync.release(key, token)

    async def extend(self, key: str, token: bytes, lease_ms: int) -> bool:
        return self.sync.extend(key, token, lease_ms)

    async def invalidate(self, keys: Sequence[str], indexes: Sequence[str] = ()) -> int:
        return self.sync.invalidate(keys, indexes)

    async def clear(self) -> int:
        return self.sync.clear()

    async def listen(self) -> bool:
        return True

    async def close(self) -> None:
        self.sync.close()
