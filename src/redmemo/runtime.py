"""All that the get-or-compute loop and the store API know of their cache.

``Cache`` is the composition root: it builds one :class:`Runtime` from its settings, and
decorated functions get the runtime, never the cache, so nothing below ``cache.py``
imports it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ._compat import Background
from .backends._async.protocol import AsyncBackend
from .backends._sync.protocol import SyncBackend
from .backends.factory import Stack
from .coordination.flights import Flights
from .coordination.heartbeat import Heartbeat
from .coordination.leases import Notice
from .coordination.near import NearStore
from .coordination.pending import Pending
from .coordination.reads import Reads
from .coordination.waiters import Waiters
from .core.entry import EntryCodec
from .core.keyspace import Keyspace
from .events import Hooks
from .observe.stats import StatsHook

__all__ = ["Runtime"]


@dataclass(eq=False)
class Runtime:
    keyspace: Keyspace
    codec: EntryCodec
    clock: Callable[[], float] = time.time
    enabled: bool = True
    hooks: Hooks = field(default_factory=Hooks)
    stats: StatsHook = field(default_factory=StatsHook)
    background_workers: int = 4
    flights: Flights = field(default_factory=Flights)
    fallbacks: Flights = field(default_factory=Flights)  # computations after a wait gave up
    reads: Reads = field(default_factory=Reads)
    # invalidation="retry": failed invalidations are kept, retried, and what they cover
    # is computed afresh meanwhile.
    durable_invalidation: bool = False
    pending: Pending = field(default_factory=Pending)
    waiters: Waiters = field(default_factory=Waiters)
    stack: Stack | None = None
    # The near cache's copies (Cache(near=...) on Redis), read by the hit path directly.
    near: NearStore | None = None
    # Bounded groups whose entries are keyed in their group's slot (a Redis Cluster):
    # invalidating a user's key reaches its entry in each of them too.
    groups: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.background = Background(self.background_workers)
        self.heartbeat = Heartbeat(self._extend)

    def _extend(self, key: str, token: bytes, lease_ms: int) -> bool:
        return self.sync_backend().extend(key, token, lease_ms)

    def attach(self, stack: Stack) -> None:
        """Use ``stack`` for the backends (set once, by the cache that built both)."""
        self.stack = stack
        # Bound once: the hit path calls these directly, without a lookup through here.
        self.sync_backend = stack.sync  # type: ignore[method-assign]
        self.async_backend = stack.async_  # type: ignore[method-assign]

    def deliver(self, key: str, kind: Notice, entry: bytes) -> None:
        """Where the backend's notices go (looked up each time: fork replaces waiters)."""
        self.waiters.deliver(key, kind, entry)

    def forget_in_flight(self) -> None:
        """After an invalidation returns, no call in this process may take the result of
        a computation or a read that began before it: later calls start their own."""
        self.flights.forget()
        self.reads.forget()

    def wake_all(self) -> None:
        """Every waiter asks again (the backend may have lost notices)."""
        self.waiters.wake_all()

    def sync_backend(self) -> SyncBackend:
        raise RuntimeError("no backend stack attached to this runtime")

    def async_backend(self) -> AsyncBackend:
        raise RuntimeError("no backend stack attached to this runtime")

    def after_fork(self) -> None:
        """In a forked child: threads, locks held by them and event loops did not survive.

        Start the in-process coordination afresh (flights, waiters, the refresh pool) and
        let the backends reopen what they need.
        """
        self.flights = Flights()
        self.fallbacks = Flights()
        self.reads = Reads()
        self.waiters = Waiters()
        self.background = Background(self.background_workers)
        self.heartbeat = Heartbeat(self._extend)
        if self.near is not None:
            self.near.after_fork()
        if self.stack is not None:
            self.stack.family.after_fork()
            self.stack.forget()
