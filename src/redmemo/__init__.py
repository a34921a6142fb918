"""redmemo: cache function results in Redis, for sync and async code alike."""

from __future__ import annotations

from . import events
from .cache import Cache
from .coordination.near import NearCache
from .core.breaker import Breaker, BreakerState
from .core.durations import FOREVER, Duration, Forever
from .core.entry import Entry
from .core.missing import MISSING, Missing
from .core.serializers import (
    JsonSerializer,
    MsgpackSerializer,
    PairSerializer,
    PickleSerializer,
    RawSerializer,
    Serializer,
    StringSerializer,
)
from .core.templates import Args
from .errors import (
    BackendError,
    CircuitOpenError,
    CommandTimeoutError,
    ConfigurationError,
    InvalidKeyError,
    InvalidTTLError,
    LockError,
    LockNotOwnedError,
    LockTimeoutError,
    NotACounterError,
    OptimisticLockError,
    RecursiveCallError,
    RedmemoError,
    SerializationError,
    UnstableKeyError,
)
from .keydesign.nodes import Field, Node, NodeManager
from .locks import Lock, OptimisticLock
from .registry import CacheRegistry, caches

__version__ = "0.1.0"

__all__ = [
    "FOREVER",
    "MISSING",
    "Args",
    "Field",
    "Forever",
    "Node",
    "NodeManager",
    "BackendError",
    "Breaker",
    "BreakerState",
    "CircuitOpenError",
    "CommandTimeoutError",
    "Cache",
    "CacheRegistry",
    "ConfigurationError",
    "Duration",
    "Entry",
    "InvalidKeyError",
    "InvalidTTLError",
    "JsonSerializer",
    "Lock",
    "LockError",
    "LockNotOwnedError",
    "LockTimeoutError",
    "Missing",
    "MsgpackSerializer",
    "NearCache",
    "NotACounterError",
    "OptimisticLock",
    "OptimisticLockError",
    "RecursiveCallError",
    "PairSerializer",
    "PickleSerializer",
    "RawSerializer",
    "RedmemoError",
    "SerializationError",
    "Serializer",
    "StringSerializer",
    "UnstableKeyError",
    "__version__",
    "caches",
    "events",
]
