"""The embedded in-process backend: the default when no Redis is configured.

It keeps the bytes Redis would keep, with the same semantics (TTL, NX, INCRBY, per-namespace
clear), so code behaves alike on both; values are copied in and out, never shared.
Safe under threads and asyncio: every operation holds a lock for a few dict operations.
"""

from __future__ import annotations

import heapq
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

from .errors import NotACounterError
from .glob import compile_glob
from .leases import LeaseMode, LeaseStatus, Notice, lease_keys

__all__ = ["AsyncMemoryBackend", "MemoryStore"]

_INF = float("inf")
_COUNTER = re.compile(rb"-?[0-9]{1,19}")


class MemoryStore:
    """A dict of ``key -> (bytes, expires_at)`` with optional LRU bound.

    Expired keys are dropped when read, and a heap of expiry times lets every write sweep
    the ones nobody reads again, so an unbounded store does not keep dead keys forever.
    """

    def __init__(self, maxsize: int | None = None, clock: Callable[[], float] = time.time) -> None:
        self.maxsize = maxsize
        self.clock = clock
        self._data: OrderedDict[str, tuple[bytes, float]] = OrderedDict()
        self._expiries: list[tuple[float, str]] = []
        # Tag and dependency indexes: index -> {entry key: its expiry}. Like Redis's sorted
        # sets in store.lua, an index drops expired members when written to, and expires
        # whole with its longest-lived member (a heap of those times).
        self._indexes: dict[str, dict[str, float]] = {}
        self._index_last: dict[str, float] = {}  # each index's latest member expiry
        self._index_pruned: dict[str, int] = {}  # its size after its last pruning
        self._index_expiries: list[tuple[float, str]] = []  # (latest expiry, index)
        self._lock = threading.RLock()
        # Called (outside the lock) when a leased fill is stored or given back, to wake the
        # callers of this process that wait for it; the Cache sets it.
        self.notify: Callable[[str, Notice, bytes], None] | None = None

    # -- internals (call with the lock held) ------------------------------------------------

    def _live(self, key: str, now: float) -> tuple[bytes, float] | None:
        item = self._data.get(key)
        if item is None:
            return None
        if item[1] <= now:
            del self._data[key]
            return None
        if self.maxsize is not None:
            self._data.move_to_end(key)
        return item

    def _put(self, key: str, value: bytes, expires_at: float) -> None:
        self._data[key] = (value, expires_at)
        self._data.move_to_end(key)
        if expires_at != _INF:
            heapq.heappush(self._expiries, (expires_at, key))
        self._sweep()
        if self.maxsize is not None:
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)

    def _sweep(self) -> None:
        now = self.clock()
        heap = self._expiries
        while heap and heap[0][0] <= now:
            expires_at, key = heapq.heappop(heap)
            item = self._data.get(key)
            if item is not None and item[1] == expires_at:
                del self._data[key]
        if self._index_expiries:
            self._sweep_indexes(now)
        # Overwrites leave outdated heap items behind; rebuild when they dominate.
        if len(heap) > 64 and len(heap) > 2 * len(self._data):
            self._expiries = [(exp, k) for k, (_, exp) in self._data.items() if exp != _INF]
            heapq.heapify(self._expiries)

    def _index_add(self, index: str, key: str, expires_at: float, now: float) -> None:
        members = self._indexes.setdefault(index, {})
        members[key] = expires_at
        # Prune expired members when the index has doubled since it was last pruned:
        # amortized constant work per add, and the index stays within twice its live size.
        if len(members) >= max(64, 2 * self._index_pruned.get(index, 0)):
            for member in [k for k, exp in members.items() if exp <= now]:
                del members[member]
            self._index_pruned[index] = len(members)
        last = self._index_last.get(index, 0.0)
        if expires_at > last:
            self._index_last[index] = expires_at
            if expires_at != _INF:
                heapq.heappush(self._index_expiries, (expires_at, index))

    def _sweep_indexes(self, now: float) -> None:
        """Drop whole indexes whose longest-lived member has expired."""
        heap = self._index_expiries
        while heap and heap[0][0] <= now:
            expires_at, index = heapq.heappop(heap)
            if self._index_last.get(index) == expires_at:
                self._drop_index(index)

    def _drop_index(self, index: str) -> dict[str, float]:
        self._index_last.pop(index, None)
        self._index_pruned.pop(index, None)
        return self._indexes.pop(index, {})

    def _expiry(self, ttl_ms: int | None, now: float) -> float:
        return _INF if ttl_ms is None else now + ttl_ms / 1000.0

    # -- the backend protocol ---------------------------------------------------------------

    def get(self, key: str) -> bytes | None:
        with self._lock:
            item = self._live(key, self.clock())
            return None if item is None else item[0]

    def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        with self._lock:
            now = self.clock()
            return [None if (item := self._live(k, now)) is None else item[0] for k in keys]

    def set(self, key: str, value: bytes, ttl_ms: int | None) -> None:
        with self._lock:
            self._put(key, value, self._expiry(ttl_ms, self.clock()))

    def add(self, key: str, value: bytes, ttl_ms: int | None) -> bool:
        with self._lock:
            now = self.clock()
            if self._live(key, now) is not None:
                return False
            self._put(key, value, self._expiry(ttl_ms, now))
            return True

    def set_many(self, items: Sequence[tuple[str, bytes]], ttl_ms: int | None) -> None:
        with self._lock:
            expires_at = self._expiry(ttl_ms, self.clock())
            for key, value in items:
                self._put(key, value, expires_at)

    def exists(self, key: str) -> bool:
        with self._lock:
            return self._live(key, self.clock()) is not None

    def incr(self, key: str, delta: int) -> int:
        with self._lock:
            item = self._live(key, self.clock())
            if item is None:
                current, expires_at = 0, _INF
            elif _COUNTER.fullmatch(item[0]):
                current, expires_at = int(item[0]), item[1]
            else:
                raise NotACounterError(
                    f"cannot increment {key!r}: it holds a value that is not an integer counter"
                )
            result = current + delta
            if not -(2**63) <= result < 2**63:
                raise NotACounterError(f"incrementing {key!r} would overflow a 64-bit counter")
            self._put(key, str(result).encode(), expires_at)
            return result

    def expire(self, key: str, ttl_ms: int | None) -> bool:
        with self._lock:
            now = self.clock()
            item = self._live(key, now)
            if item is None:
                return False
            self._put(key, item[0], self._expiry(ttl_ms, now))
            return True

    def ttl_ms(self, key: str) -> int | None:
        """Milliseconds left; None when the key is absent or has no expiry."""
        with self._lock:
            now = self.clock()
            item = self._live(key, now)
            if item is None or item[1] == _INF:
                return None
            return max(0, round((item[1] - now) * 1000))

    def delete(self, keys: Sequence[str]) -> int:
        with self._lock:
            now = self.clock()
            count = 0
            for key in keys:
                if self._live(key, now) is not None:
                    del self._data[key]
                    count += 1
            return count

    def scan(self, pattern: str) -> list[str]:
        """The live keys matching a Redis glob pattern."""
        regex = compile_glob(pattern)
        with self._lock:
            now = self.clock()
            return [k for k, (_, exp) in self._data.items() if exp > now and regex.fullmatch(k)]

    def delete_matching(self, pattern: str) -> int:
        with self._lock:
            return self.delete(self.scan(pattern))

    def raw(self, command: str, *args: Any) -> Any:
        """A few Redis commands on the raw keys, for parity with ``Cache.raw`` on Redis."""
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
            return [k.encode() for k in self.scan(str(args[0]) if args else "*")]
        if name == "DBSIZE":
            with self._lock:
                self._sweep()
                return len(self._data)
        raise NotImplementedError(
            f"the memory backend does not emulate {command!r}; it knows PING, GET, SET, DEL, "
            "UNLINK, EXISTS, TTL, PTTL, KEYS and DBSIZE"
        )

    def _ttl_code(self, key: str, unit_ms: int) -> int:
        with self._lock:
            if self._live(key, self.clock()) is None:
                return -2
        left = self.ttl_ms(key)
        return -1 if left is None else left // unit_ms

    # -- leases and indexes: the semantics of lua/*.lua, under the lock --------------------

    def lease(
        self, key: str, token: bytes, lease_ms: int, mode: LeaseMode
    ) -> tuple[LeaseStatus, bytes | None, int]:
        _, lease_key, flag_key = lease_keys(key)
        with self._lock:
            now = self.clock()
            if mode is LeaseMode.FILL:
                item = self._live(key, now)
                if item is not None:
                    return LeaseStatus.ENTRY, item[0], 0
            value = token + b":" + str(int(now * 1_000_000)).encode()
            held = self._live(lease_key, now)
            if held is None or mode is LeaseMode.TAKE:
                self._put(lease_key, value, now + lease_ms / 1000.0)
                return LeaseStatus.ACQUIRED, None, 0
            left = max(1, round((held[1] - now) * 1000))
            if mode is not LeaseMode.REFRESH:
                self._put(flag_key, b"1", held[1])
            return LeaseStatus.HELD, None, left

    def store_leased(
        self,
        key: str,
        token: bytes,
        entry: bytes,
        ttl_ms: int | None,
        channel: str,
        indexes: Sequence[str] = (),
    ) -> bool:
        _, lease_key, flag_key = lease_keys(key)
        with self._lock:
            now = self.clock()
            held = self._live(lease_key, now)
            if held is None:
                return False
            holder, _, started = held[0].partition(b":")
            if holder != token:
                return False
            del self._data[lease_key]
            waited = self._data.pop(flag_key, None) is not None
            stale = any(
                (marker := self._live(index + ":inv", now)) is not None
                and int(marker[0]) >= int(started)
                for index in indexes
            )
            if not stale:
                expires_at = self._expiry(ttl_ms, now)
                self._put(key, entry, expires_at)
                for index in indexes:
                    self._index_add(index, key, expires_at, now)
        if waited and self.notify is not None:
            self.notify(key, Notice.WAKE if stale else Notice.VALUE, b"" if stale else entry)
        return not stale

    def release(self, key: str, token: bytes, channel: str) -> None:
        _, lease_key, flag_key = lease_keys(key)
        with self._lock:
            held = self._live(lease_key, self.clock())
            if held is None or held[0].partition(b":")[0] != token:
                return
            del self._data[lease_key]
            waited = self._data.pop(flag_key, None) is not None
        if waited and self.notify is not None:
            self.notify(key, Notice.WAKE, b"")

    def invalidate(
        self,
        keys: Sequence[str],
        channel: str,
        indexes: Sequence[str] = (),
        marker_ms: int = 3_600_000,
    ) -> int:
        woken: list[str] = []
        with self._lock:
            now = self.clock()
            doomed = list(keys)
            for index in indexes:
                doomed.extend(self._drop_index(index))
                marker = str(int(now * 1_000_000)).encode()  # microseconds, as lease starts
                self._put(index + ":inv", marker, now + marker_ms / 1000)
            removed = 0
            for key in doomed:
                _, lease_key, flag_key = lease_keys(key)
                if self._live(key, now) is not None:
                    del self._data[key]
                    removed += 1
                self._data.pop(lease_key, None)
                if self._data.pop(flag_key, None) is not None:
                    woken.append(key)
        if self.notify is not None:
            for key in woken:
                self.notify(key, Notice.WAKE, b"")
        return removed

    def close(self) -> None:
        """Nothing to release; the data stays for the life of the process."""

    def __len__(self) -> int:
        with self._lock:
            self._sweep()
            return len(self._data)


class AsyncMemoryBackend:
    """The async face of a :class:`MemoryStore`: same data, awaitable methods.

    Every operation is a few dict steps under a lock, so it runs inline and never blocks the
    event loop for long. Written by hand because it only delegates.
    """

    def __init__(self, store: MemoryStore) -> None:
        self.store = store

    async def get(self, key: str) -> bytes | None:
        return self.store.get(key)

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        return self.store.get_many(keys)

    async def set(self, key: str, value: bytes, ttl_ms: int | None) -> None:
        self.store.set(key, value, ttl_ms)

    async def add(self, key: str, value: bytes, ttl_ms: int | None) -> bool:
        return self.store.add(key, value, ttl_ms)

    async def set_many(self, items: Sequence[tuple[str, bytes]], ttl_ms: int | None) -> None:
        self.store.set_many(items, ttl_ms)

    async def exists(self, key: str) -> bool:
        return self.store.exists(key)

    async def incr(self, key: str, delta: int) -> int:
        return self.store.incr(key, delta)

    async def expire(self, key: str, ttl_ms: int | None) -> bool:
        return self.store.expire(key, ttl_ms)

    async def ttl_ms(self, key: str) -> int | None:
        return self.store.ttl_ms(key)

    async def delete(self, keys: Sequence[str]) -> int:
        return self.store.delete(keys)

    async def delete_matching(self, pattern: str) -> int:
        return self.store.delete_matching(pattern)

    async def raw(self, command: str, *args: Any) -> Any:
        return self.store.raw(command, *args)

    async def lease(
        self, key: str, token: bytes, lease_ms: int, mode: LeaseMode
    ) -> tuple[LeaseStatus, bytes | None, int]:
        return self.store.lease(key, token, lease_ms, mode)

    async def store_leased(
        self,
        key: str,
        token: bytes,
        entry: bytes,
        ttl_ms: int | None,
        channel: str,
        indexes: Sequence[str] = (),
    ) -> bool:
        return self.store.store_leased(key, token, entry, ttl_ms, channel, indexes)

    async def release(self, key: str, token: bytes, channel: str) -> None:
        self.store.release(key, token, channel)

    async def invalidate(
        self,
        keys: Sequence[str],
        channel: str,
        indexes: Sequence[str] = (),
        marker_ms: int = 3_600_000,
    ) -> int:
        return self.store.invalidate(keys, channel, indexes, marker_ms)

    async def scan(self, pattern: str) -> list[str]:
        return self.store.scan(pattern)

    async def close(self) -> None:
        self.store.close()
