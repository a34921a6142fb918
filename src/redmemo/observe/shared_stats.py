"""Counters summed across processes, kept in Redis without touching the hit path.

Each process adds what its functions counted since its last flush (the totals of its
statistics hook) to one Redis hash per function (HINCRBY in one pipeline), from a daemon
thread every ``share_stats`` interval, and once more on ``close()``. Readers sum nothing:
the hashes hold the totals.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import redis
from redis.exceptions import RedisError

from .._log import warn_throttled
from ..core.keyspace import Keyspace

__all__ = ["SharedStats"]

# HGETALL then DEL of one hash, atomically (a script touches one key: cluster-safe).
_READ_AND_DELETE = "local v = redis.call('HGETALL', KEYS[1]) redis.call('DEL', KEYS[1]) return v"


class SharedStats:
    def __init__(
        self,
        keyspace: Keyspace,
        client: Callable[[], redis.Redis],
        interval: float | None,
        totals: Callable[[], dict[str, dict[str, int]]],
    ) -> None:
        self.keyspace = keyspace
        self.index = keyspace.stats
        self._client = client
        self.interval = interval
        self._totals = totals
        self._sent: dict[str, dict[str, int]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Flush every ``interval`` seconds in a daemon thread (once per process)."""
        if self.interval is None or (self._thread is not None and self._thread.is_alive()):
            return
        self._stop.clear()

        def loop() -> None:
            while not self._stop.wait(self.interval):
                self.flush()

        self._thread = threading.Thread(target=loop, name="redmemo-stats", daemon=True)
        self._thread.start()

    def flush(self) -> None:
        """Add each function's counts since the last flush to its Redis hash."""
        with self._lock:
            deltas: dict[str, dict[str, int]] = {}
            current = self._totals()
            for name, counts in current.items():
                sent = self._sent.get(name, {})
                delta = {f: v - sent.get(f, 0) for f, v in counts.items() if v != sent.get(f, 0)}
                if delta:
                    deltas[name] = delta
            if not deltas:
                return
            try:
                client = self._client()
                with client.pipeline(transaction=False) as pipe:
                    for name, delta in deltas.items():
                        pipe.sadd(self.index, name)
                        for field, value in delta.items():
                            pipe.hincrby(self.keyspace.stats_of(name), field, value)
                    pipe.execute()
            except RedisError as exc:
                warn_throttled("stats", "redmemo: could not share statistics: %s", exc)
                return
            self._sent = current

    def read(self, delete: bool = False) -> dict[str, dict[str, int]]:
        """Every function's totals across processes; ``delete``: each function's hash is
        read and deleted in one step, so no process's count falls between the two."""
        client = self._client()
        names = sorted(n.decode() for n in client.smembers(self.index))  # type: ignore[union-attr]
        with client.pipeline(transaction=False) as pipe:
            for name in names:
                if delete:
                    pipe.eval(_READ_AND_DELETE, 1, self.keyspace.stats_of(name))
                else:
                    pipe.hgetall(self.keyspace.stats_of(name))
            replies = pipe.execute()
        totals: dict[str, dict[str, int]] = {}
        for name, reply in zip(names, replies, strict=True):
            pairs = (
                reply.items()
                if isinstance(reply, dict)
                else zip(reply[::2], reply[1::2], strict=True)
            )
            totals[name] = {k.decode(): int(v) for k, v in pairs}
        return totals

    def stop(self) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout=5)
        self._thread = None
