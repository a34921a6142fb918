"""The exceptions redmemo raises.

Every error a caller can provoke derives from :class:`RedmemoError`, and also from the
builtin it refines (``ValueError``, ``TypeError``), so ``except ValueError`` keeps working.
"""

from __future__ import annotations

__all__ = [
    "BackendError",
    "CircuitOpenError",
    "CommandTimeoutError",
    "ConfigurationError",
    "InvalidKeyError",
    "InvalidTTLError",
    "LockError",
    "LockNotOwnedError",
    "LockTimeoutError",
    "NotACounterError",
    "OptimisticLockError",
    "RecursiveCallError",
    "RedmemoError",
    "SerializationError",
    "UnstableKeyError",
]


class RedmemoError(Exception):
    """Base class of every exception redmemo raises."""


class ConfigurationError(RedmemoError, ValueError):
    """A URL, option or environment variable that redmemo cannot use."""


class InvalidTTLError(RedmemoError, ValueError):
    """A time to live that is negative, zero, malformed or of the wrong type."""


class InvalidKeyError(RedmemoError, TypeError):
    """A cache key that is not a non-empty ``str``."""


class SerializationError(RedmemoError, TypeError):
    """A value the chosen serializer cannot turn into bytes. Nothing was stored."""


class UnstableKeyError(RedmemoError, TypeError):
    """An argument with no representation that is stable across processes."""


class NotACounterError(RedmemoError, TypeError):
    """``increment`` on a key that holds something other than an integer counter."""


class RecursiveCallError(RedmemoError, RecursionError):
    """A cached function called itself with the same arguments: it would wait for its
    own result. ``functools.lru_cache`` would recurse forever; redmemo says so at once."""


class BackendError(RedmemoError):
    """The backend (Redis) failed to answer; the original error is the ``__cause__``."""


class CommandTimeoutError(BackendError, TimeoutError):
    """A store command given ``timeout=`` did not finish in time. A write may still have
    taken effect: its outcome is unknown, and it is never sent again."""


class CircuitOpenError(BackendError):
    """The circuit breaker is open: the backend was not asked (it failed just before)."""


class LockError(RedmemoError):
    """A lock could not be taken, kept or given back."""


class LockTimeoutError(LockError, TimeoutError):
    """The lock was not acquired within ``blocking_timeout`` (or at once, when not
    blocking)."""


class LockNotOwnedError(LockError):
    """Releasing or extending a lock this holder does not hold (any more: its ``ttl``
    ran out, and another may hold it now)."""


class OptimisticLockError(LockError):
    """``cas()`` found the value changed since the optimistic lock read it: nothing was
    written."""
