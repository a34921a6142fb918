"""Serializers turn values into bytes and back.

A serializer is any object with ``dumps(obj) -> bytes`` and ``loads(data) -> obj``. Its
``serializer_id`` is written into every entry, so an entry written with one serializer is
never handed to another (it reads as a miss instead). Ids 1-63 are redmemo's own; a custom
serializer may set any id from 64 to 255 to tell itself apart from other custom ones.
"""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from ..errors import ConfigurationError

__all__ = [
    "CUSTOM_SERIALIZER_ID",
    "JsonSerializer",
    "MsgpackSerializer",
    "PairSerializer",
    "PickleSerializer",
    "RawSerializer",
    "Serializer",
    "SerializerSpec",
    "StringSerializer",
    "resolve_serializer",
]

CUSTOM_SERIALIZER_ID = 255


@runtime_checkable
class Serializer(Protocol):
    """What redmemo needs of a serializer."""

    def dumps(self, obj: Any) -> bytes: ...

    def loads(self, data: bytes) -> Any: ...


SerializerSpec = str | Serializer | tuple[Callable[[Any], bytes], Callable[[bytes], Any]]


class PickleSerializer:
    """Any picklable value. Only read pickles you trust: see ``Cache(secret=...)``."""

    serializer_id = 1
    name = "pickle"

    def __init__(self, protocol: int = pickle.HIGHEST_PROTOCOL) -> None:
        self.protocol = protocol

    def dumps(self, obj: Any) -> bytes:
        return pickle.dumps(obj, protocol=self.protocol)

    def loads(self, data: bytes) -> Any:
        return pickle.loads(data)


class JsonSerializer:
    """JSON values; uses orjson when it is installed, the standard library otherwise."""

    serializer_id = 2
    name = "json"

    def __init__(self) -> None:
        try:
            import orjson
        except ImportError:  # the stdlib path: compact separators, UTF-8 bytes
            encoder = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
            self._dumps: Callable[[Any], bytes] = lambda obj: encoder.encode(obj).encode()
            self._loads: Callable[[bytes], Any] = json.loads
        else:
            self._dumps = orjson.dumps
            self._loads = orjson.loads

    def dumps(self, obj: Any) -> bytes:
        return self._dumps(obj)

    def loads(self, data: bytes) -> Any:
        return self._loads(data)


class MsgpackSerializer:
    """MessagePack values (needs the ``msgpack`` extra)."""

    serializer_id = 3
    name = "msgpack"

    def __init__(self) -> None:
        try:
            import msgpack
        except ImportError as exc:
            raise ConfigurationError(
                "the msgpack serializer needs the msgpack package: pip install 'redmemo[msgpack]'"
            ) from exc
        self._packb = msgpack.packb
        self._unpackb = msgpack.unpackb

    def dumps(self, obj: Any) -> bytes:
        data: bytes = self._packb(obj, use_bin_type=True)
        return data

    def loads(self, data: bytes) -> Any:
        return self._unpackb(data, raw=False)


class StringSerializer:
    """``str`` values only, stored as UTF-8."""

    serializer_id = 4
    name = "string"

    def dumps(self, obj: Any) -> bytes:
        if not isinstance(obj, str):
            raise TypeError(
                f"the string serializer stores str values only, not {type(obj).__name__}"
            )
        return obj.encode()

    def loads(self, data: bytes) -> Any:
        return data.decode()


class RawSerializer:
    """``bytes``, ``str``, ``int`` and ``float`` stored as their plain bytes, untouched.

    As in Redis itself, the type is not kept: values come back as ``bytes``, or as ``str``
    with ``decode=True``.
    """

    serializer_id = 5
    name = "raw"

    def __init__(self, decode: bool = False) -> None:
        self.decode = decode

    def dumps(self, obj: Any) -> bytes:
        if isinstance(obj, bytes):
            return obj
        if isinstance(obj, str):
            return obj.encode()
        if isinstance(obj, (int, float)) and not isinstance(obj, bool):
            return repr(obj).encode()
        raise TypeError(
            f"the raw serializer stores bytes, str, int and float only, not {type(obj).__name__}"
        )

    def loads(self, data: bytes) -> Any:
        return data.decode() if self.decode else bytes(data)


class PairSerializer:
    """A ``(dumps, loads)`` pair of callables, as other libraries accept them."""

    name = "custom"

    def __init__(
        self,
        dumps: Callable[[Any], bytes],
        loads: Callable[[bytes], Any],
        serializer_id: int = CUSTOM_SERIALIZER_ID,
    ) -> None:
        if not callable(dumps) or not callable(loads):
            raise ConfigurationError("a serializer pair must be two callables: (dumps, loads)")
        self._dumps = dumps
        self._loads = loads
        self.serializer_id = serializer_id

    def dumps(self, obj: Any) -> bytes:
        data = self._dumps(obj)
        if isinstance(data, str):  # json.dumps and friends return str; store its UTF-8
            return data.encode()
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"the custom dumps returned {type(data).__name__}, not bytes")
        return bytes(data)

    def loads(self, data: bytes) -> Any:
        return self._loads(data)


_BY_NAME: dict[str, Callable[[], Serializer]] = {
    "pickle": PickleSerializer,
    "json": JsonSerializer,
    "msgpack": MsgpackSerializer,
    "string": StringSerializer,
    "str": StringSerializer,
    "raw": RawSerializer,
}


def resolve_serializer(
    spec: SerializerSpec | None, default: Serializer | None = None
) -> Serializer:
    """Turn a name, an instance or a ``(dumps, loads)`` pair into a serializer."""
    if spec is None:
        return default if default is not None else PickleSerializer()
    if isinstance(spec, str):
        factory = _BY_NAME.get(spec.lower())
        if factory is None:
            known = ", ".join(sorted(_BY_NAME))
            raise ConfigurationError(f"unknown serializer {spec!r}; use one of {known}")
        return factory()
    if isinstance(spec, tuple):
        if len(spec) != 2:
            raise ConfigurationError("a serializer pair must be two callables: (dumps, loads)")
        return PairSerializer(spec[0], spec[1])
    if callable(getattr(spec, "dumps", None)) and callable(getattr(spec, "loads", None)):
        sid = getattr(spec, "serializer_id", CUSTOM_SERIALIZER_ID)
        if not isinstance(sid, int) or not 1 <= sid <= 255:
            raise ConfigurationError(f"serializer_id must be an int from 1 to 255, got {sid!r}")
        return spec
    raise ConfigurationError(
        "serializer must be a name ('pickle', 'json', 'msgpack', 'string', 'raw'), an object "
        f"with dumps/loads, or a (dumps, loads) pair; got {type(spec).__name__}"
    )


def serializer_id(serializer: Serializer) -> int:
    sid = getattr(serializer, "serializer_id", CUSTOM_SERIALIZER_ID)
    return sid if isinstance(sid, int) else CUSTOM_SERIALIZER_ID


def serializer_name(serializer: Serializer) -> str:
    name = getattr(serializer, "name", None)
    return name if isinstance(name, str) else type(serializer).__name__


def serializer_name_of_id(sid: int) -> str:
    """The name of the built-in serializer with id ``sid``; "custom" for the others."""
    for name, factory in _BY_NAME.items():
        try:
            serializer = factory()
        except Exception:  # an optional package that is not installed
            continue
        if serializer_id(serializer) == sid:
            return serializer_name(serializer) or name
    return "custom"
