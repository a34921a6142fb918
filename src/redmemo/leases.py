"""Who computes a missing entry, and how the others learn its result.

Across processes a *lease* (a Redis key holding a random token, with a time limit) elects
one computer per entry key; see ``lua/``. Inside one process, a *flight* lets concurrent
callers of one key share one computation without asking Redis at all. Callers that wait
for another process register with :class:`Waiters`, which the backend's notifications
(pub/sub messages on Redis, direct calls on memory) wake with the stored entry.
"""

from __future__ import annotations

import contextlib
import enum
import os
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from importlib import resources

__all__ = [
    "Flights",
    "LeaseMode",
    "LeaseStatus",
    "Notice",
    "Waiters",
    "has_hash_tag",
    "index_keys",
    "lease_keys",
    "load_script",
    "new_token",
    "parse_notice",
]

# Entries larger than this are not sent through pub/sub; waiters read them with a GET.
PUBLISH_LIMIT = 64 * 1024


class LeaseMode(enum.Enum):
    FILL = "fill"  # answer with the entry if there is one, else take a free lease
    FORCE = "force"  # take a free lease even if an entry exists (to replace it)
    REFRESH = "refresh"  # like FORCE, without waiting for a held lease
    TAKE = "take"  # take the lease whoever holds it (an explicit refresh)


class LeaseStatus(enum.IntEnum):
    ENTRY = 1  # an entry is there (the answer carries it)
    ACQUIRED = 2  # the lease is ours: compute and store
    HELD = 3  # another caller holds it: wait for its notification


class Notice(enum.Enum):
    VALUE = b"V"  # the entry was stored; the notice carries it
    STORED = b"K"  # the entry was stored; read it
    WAKE = b"W"  # the lease was given back or invalidated; try again


def has_hash_tag(key: str) -> bool:
    """Whether Redis Cluster would hash ``key`` by a ``{...}`` part of it."""
    start = key.find("{")
    return start != -1 and key.find("}", start + 1) > start + 1


def lease_keys(key: str) -> tuple[str, str, str]:
    """The entry key, its lease key and its wait-flag key, all in the entry's hash slot.

    An entry key with a hash tag lends it to the others; one without is used whole as the
    tag of theirs (``{key}:lease`` hashes like ``key``). ``lua/invalidate.lua`` repeats
    this rule.
    """
    lease = key + ":lease" if has_hash_tag(key) else "{" + key + "}:lease"
    return key, lease, lease + ":w"


def index_keys(indexes: Sequence[str]) -> list[str]:
    """Each index followed by its invalidation marker, as store.lua takes them."""
    return [k for index in indexes for k in (index, index + ":inv")]


def new_token() -> bytes:
    return os.urandom(12).hex().encode()


def load_script(name: str) -> str:
    return resources.files("redmemo").joinpath(f"lua/{name}.lua").read_text()


def parse_notice(message: bytes) -> tuple[str, Notice, bytes] | None:
    """(key, kind, entry bytes) of a notification, or None when it is not one of ours."""
    try:
        kind = Notice(message[:1])
        colon = message.index(b":", 1)
        length = int(message[1:colon])
        start = colon + 1
        key = message[start : start + length].decode()
        return key, kind, message[start + length :]
    except (ValueError, UnicodeDecodeError):
        return None


class Waiters:
    """Callers waiting for another process's result, by entry key."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_key: dict[str, list[Future[tuple[Notice, bytes]]]] = {}

    def register(self, key: str) -> Future[tuple[Notice, bytes]]:
        future: Future[tuple[Notice, bytes]] = Future()
        with self._lock:
            self._by_key.setdefault(key, []).append(future)
        return future

    def discard(self, key: str, future: Future[tuple[Notice, bytes]]) -> None:
        with self._lock:
            waiting = self._by_key.get(key)
            if waiting is not None:
                with contextlib.suppress(ValueError):
                    waiting.remove(future)
                if not waiting:
                    del self._by_key[key]

    def deliver(self, key: str, kind: Notice, entry: bytes) -> None:
        with self._lock:
            waiting = self._by_key.pop(key, None)
        for future in waiting or ():
            if not future.done():
                future.set_result((kind, entry))

    def on_message(self, message: bytes) -> None:
        notice = parse_notice(message)
        if notice is not None:
            self.deliver(*notice)

    def __len__(self) -> int:
        with self._lock:
            return sum(len(v) for v in self._by_key.values())


class Flights:
    """One in-process computation per key; the others share its future."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_key: dict[str, Future[object]] = {}

    def join(self, key: str) -> tuple[Future[object], bool]:
        """The key's flight future, and whether the caller leads it (must compute)."""
        with self._lock:
            future = self._by_key.get(key)
            if future is not None:
                return future, False
            future = Future()
            self._by_key[key] = future
            return future, True

    def running(self, key: str) -> Future[object] | None:
        """The key's flight if one is running (a lock-free read: dict.get is atomic)."""
        return self._by_key.get(key)

    def land(self, key: str, future: Future[object]) -> None:
        with self._lock:
            if self._by_key.get(key) is future:
                del self._by_key[key]
