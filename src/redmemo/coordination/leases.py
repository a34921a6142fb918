"""The vocabulary of leases, shared by the loop and every backend.

Across processes a *lease* (a key holding a random token, with a time limit) elects one
computer per entry; see ``backends/redis/lua/``. When a fill is stored or given back, the
backend sends a *notice* that wakes the callers waiting for it.
"""

from __future__ import annotations

import enum
import os
from typing import NamedTuple

from ..core.policies import BoundSpec

__all__ = [
    "PUBLISH_LIMIT",
    "Lease",
    "LeaseMode",
    "LeaseRequest",
    "LeaseStatus",
    "Notice",
    "StoreRequest",
    "new_token",
    "notice_message",
    "parse_notice",
]

# Entries larger than this are not sent in notices; waiters read them with a GET.
PUBLISH_LIMIT = 64 * 1024


class LeaseMode(enum.Enum):
    FILL = "fill"  # answer with the entry if there is one, else take a free lease
    FORCE = "force"  # take a free lease even if an entry exists (to replace it)
    REFRESH = "refresh"  # like FORCE, without waiting for a held lease
    TAKE = "take"  # take the lease whoever holds it (an explicit refresh)


class LeaseStatus(enum.IntEnum):
    ENTRY = 1  # an entry is there (the answer carries it)
    ACQUIRED = 2  # the lease is ours: compute and store
    HELD = 3  # another caller holds it: wait for its notice


class Lease(NamedTuple):
    """A backend's answer to a lease request."""

    status: LeaseStatus
    entry: bytes | None = None  # with ENTRY
    left_ms: int = 0  # with HELD: how long the holder's lease still runs
    started_us: int = 0  # with ACQUIRED: when it began (server microseconds)


class LeaseRequest(NamedTuple):
    """One key's part of a batch of lease requests (the arguments of a lease)."""

    key: str
    token: bytes
    lease_ms: int
    mode: LeaseMode
    indexes: tuple[str, ...] = ()
    ttl_ms: int | None = None


class StoreRequest(NamedTuple):
    """One key's part of a batch of leased stores."""

    key: str
    token: bytes
    entry: bytes
    ttl_ms: int | None
    bound: BoundSpec | None = None  # its bounded group, if any


class Notice(enum.Enum):
    VALUE = b"V"  # the entry was stored; the notice carries it
    STORED = b"K"  # the entry was stored; read it
    WAKE = b"W"  # the lease was given back or invalidated; try again


def new_token() -> bytes:
    return os.urandom(12).hex().encode()


def notice_message(key: str, kind: Notice, entry: bytes = b"") -> bytes:
    """A notice as the scripts publish it: kind, key length, ``:``, key, entry bytes."""
    raw = key.encode()
    return kind.value + str(len(raw)).encode() + b":" + raw + entry


def parse_notice(message: bytes) -> tuple[str, Notice, bytes] | None:
    """(key, kind, entry bytes) of a notice, or None when it is not one of ours."""
    try:
        kind = Notice(message[:1])
        colon = message.index(b":", 1)
        length = int(message[1:colon])
        start = colon + 1
        key = message[start : start + length].decode()
        return key, kind, message[start + length :]
    except (ValueError, UnicodeDecodeError):
        return None
