"""redmemo: cache function results in Redis, for sync and async code alike."""

from __future__ import annotations

from .cache import Cache
from .core import MISSING, Missing
from .durations import Duration
from .entry import Entry
from .errors import (
    BackendError,
    ConfigurationError,
    InvalidKeyError,
    InvalidTTLError,
    NotACounterError,
    RedmemoError,
    SerializationError,
    UnstableKeyError,
)
from .nodes import Field, Node, NodeManager
from .registry import CacheRegistry, caches
from .serializers import (
    JsonSerializer,
    MsgpackSerializer,
    PairSerializer,
    PickleSerializer,
    RawSerializer,
    Serializer,
    StringSerializer,
)
from .templates import Args

__version__ = "0.1.0"

__all__ = [
    "MISSING",
    "Args",
    "Field",
    "Node",
    "NodeManager",
    "BackendError",
    "Cache",
    "CacheRegistry",
    "ConfigurationError",
    "Duration",
    "Entry",
    "InvalidKeyError",
    "InvalidTTLError",
    "JsonSerializer",
    "Missing",
    "MsgpackSerializer",
    "NotACounterError",
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
]
