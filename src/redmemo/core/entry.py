"""The entry envelope: what redmemo stores for one value.

Layout (little endian), 24 bytes of header then the payload::

    magic  u8    0xC5, never the first byte of a pickle, JSON text or a decimal counter
    ver    u8    format version (1)
    ser    u8    serializer id (see serializers.py)
    flags  u8    bits 0-1 compression codec, bit 2 signed
    created   f64  wall-clock seconds when the value was computed
    refresh   f32  seconds after ``created`` when it turns stale (0: never)
    expire    f32  seconds after ``created`` when it must not be served (0: never)
    compute   f32  seconds the computation took (for early refresh)
    [mac   16 bytes  HMAC-SHA256 of header and payload, truncated, when signed]
    payload

Integers written by ``set`` or ``increment`` are stored as plain decimal text instead, so
that Redis ``INCRBY`` can work on them atomically; they decode as ``int``.

Decoding never raises: anything that is not a valid envelope for this codec is a miss.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import struct
import zlib
from collections.abc import Callable
from typing import Any, NamedTuple

from .._log import warn_throttled
from ..errors import ConfigurationError, SerializationError
from .serializers import (
    Serializer,
    SerializerSpec,
    resolve_serializer,
    serializer_id,
    serializer_name,
    serializer_name_of_id,
)

__all__ = ["HEADER_SIZE", "Entry", "EntryCodec", "Header", "is_counter", "read_header"]

MAGIC = 0xC5
VERSION = 1
_HEADER = struct.Struct("<BBBBdfff")
HEADER_SIZE = _HEADER.size  # 24
_MAC_SIZE = 16
_SIGNED = 0b100
_CODEC_MASK = 0b011
_COUNTER = re.compile(rb"-?[0-9]{1,19}")
_INF = float("inf")


class Entry(NamedTuple):
    """A decoded entry. Times are absolute wall-clock seconds; ``inf`` means never."""

    value: Any
    created: float
    refresh_at: float
    expire_at: float
    compute_time: float


# NamedTuple's generated __new__ is Python code; building the tuple in C saves a measurable
# share of a hit's client-side time.
_new_entry: Callable[[type[Entry], tuple[Any, float, float, float, float]], Entry] = tuple.__new__


def is_counter(value: Any) -> bool:
    """Whether ``set`` stores ``value`` in counter form (an exact int in the int64 range)."""
    return type(value) is int and -(2**63) <= value < 2**63


def _codec_table() -> dict[int, tuple[str, Callable[[bytes], bytes], Callable[[bytes], bytes]]]:
    table: dict[int, tuple[str, Callable[[bytes], bytes], Callable[[bytes], bytes]]] = {
        1: ("zlib", zlib.compress, zlib.decompress),
    }
    try:
        import lz4.frame
    except ImportError:
        pass
    else:
        table[2] = ("lz4", lz4.frame.compress, lz4.frame.decompress)
    try:
        import zstandard
    except ImportError:
        pass
    else:
        table[3] = (
            "zstd",
            zstandard.ZstdCompressor().compress,
            zstandard.ZstdDecompressor().decompress,
        )
    return table


_CODEC_IDS = {"zlib": 1, "lz4": 2, "zstd": 3}
_codecs: dict[int, tuple[str, Callable[[bytes], bytes], Callable[[bytes], bytes]]] | None = None


def _codecs_available() -> dict[
    int, tuple[str, Callable[[bytes], bytes], Callable[[bytes], bytes]]
]:
    global _codecs
    if _codecs is None:  # built on first use: importing lz4 / zstd costs import time
        _codecs = _codec_table()
    return _codecs


class EntryCodec:
    """Encodes and checks entries for one serializer, compression and signing setting."""

    __slots__ = ("_compress", "_key", "_ser_id", "_threshold", "compression", "serializer")

    def __init__(
        self,
        serializer: Serializer,
        *,
        compression: str | None = None,
        compress_threshold: int = 1024,
        secret: bytes | str | None = None,
    ) -> None:
        self.serializer = serializer
        self._ser_id = serializer_id(serializer)
        self.compression = compression
        self._compress: tuple[int, Callable[[bytes], bytes]] | None = None
        if compression is not None:
            codec_id = _CODEC_IDS.get(compression)
            if codec_id is None:
                raise ConfigurationError(
                    f"unknown compression {compression!r}; use 'zlib', 'lz4' or 'zstd'"
                )
            codec = _codecs_available().get(codec_id)
            if codec is None:
                raise ConfigurationError(
                    f"compression {compression!r} needs its package: "
                    f"pip install 'redmemo[{compression}]'"
                )
            self._compress = (codec_id, codec[1])
        if not isinstance(compress_threshold, int) or compress_threshold < 0:
            raise ConfigurationError("compress_threshold must be a non-negative int of bytes")
        self._threshold = compress_threshold
        if isinstance(secret, str):
            secret = secret.encode()
        if secret is not None and len(secret) < 16:
            raise ConfigurationError("secret must be at least 16 bytes long to sign entries")
        self._key = secret

    def with_serializer(self, serializer: Serializer) -> EntryCodec:
        """The same settings with another serializer (for a per-call override)."""
        clone = EntryCodec.__new__(EntryCodec)
        clone.serializer = serializer
        clone._ser_id = serializer_id(serializer)
        clone.compression = self.compression
        clone._compress = self._compress
        clone._threshold = self._threshold
        clone._key = self._key
        return clone

    def for_serializer(self, spec: SerializerSpec | None) -> EntryCodec:
        """This codec, or the same settings with the serializer ``spec`` names."""
        return self if spec is None else self.with_serializer(resolve_serializer(spec))

    def encode(
        self,
        value: Any,
        *,
        created: float,
        refresh_after: float | None = None,
        expire_after: float | None = None,
        compute_time: float = 0.0,
    ) -> bytes:
        """Serialize ``value`` into an envelope; raises :class:`SerializationError`."""
        try:
            payload = self.serializer.dumps(value)
        except Exception as exc:
            name = serializer_name(self.serializer)
            kind = type(value)
            advice = (
                "Convert it to plain data first (or give its class __reduce__)"
                if name == "pickle"
                else "Convert it first, or choose serializer='pickle'"
            )
            raise SerializationError(
                f"the {name} serializer cannot store a value of type "
                f"{kind.__module__}.{kind.__qualname__}: {exc}. {advice}; nothing was stored."
            ) from exc
        flags = 0
        if self._compress is not None and len(payload) >= self._threshold:
            squeezed = self._compress[1](payload)
            if len(squeezed) < len(payload):
                payload = squeezed
                flags = self._compress[0]
        if self._key is not None:
            flags |= _SIGNED
        header = _HEADER.pack(
            MAGIC,
            VERSION,
            self._ser_id,
            flags,
            created,
            refresh_after or 0.0,
            expire_after or 0.0,
            compute_time,
        )
        if self._key is None:
            return header + payload
        mac = hmac.new(self._key, header + payload, hashlib.sha256).digest()[:_MAC_SIZE]
        return header + mac + payload

    def decode(self, raw: bytes | None, counters: bool = True) -> Entry | None:
        """The entry in ``raw``, or None for a miss (absent, corrupt, foreign, untrusted).

        A plain integer (what ``increment`` writes) reads as a counter only where
        ``counters`` are expected (the store API), and never in a signed cache: it
        carries no signature. A decorated function's entries are envelopes only.
        """
        if raw is None:
            return None
        if raw[:1] != b"\xc5":
            if counters and self._key is None and _COUNTER.fullmatch(raw):
                return _new_entry(Entry, (int(raw), 0.0, _INF, _INF, 0.0))
            return _reject("not a redmemo entry")
        if len(raw) < HEADER_SIZE:
            return _reject("truncated entry")
        _, version, ser_id, flags, created, refresh, expire, compute = _HEADER.unpack_from(raw)
        if version != VERSION:
            return _reject("entry of another format version")
        if ser_id != self._ser_id:
            return _reject("entry written with another serializer")
        start = HEADER_SIZE
        if flags & _SIGNED:
            start += _MAC_SIZE
            if self._key is not None:
                mac = hmac.new(self._key, raw[:HEADER_SIZE] + raw[start:], hashlib.sha256)
                if not hmac.compare_digest(mac.digest()[:_MAC_SIZE], raw[HEADER_SIZE:start]):
                    return _reject("entry with a wrong signature")
        elif self._key is not None:
            return _reject("unsigned entry in a cache that requires signatures")
        payload = raw[start:]
        codec_id = flags & _CODEC_MASK
        try:
            if codec_id:
                codec = _codecs_available().get(codec_id)
                if codec is None:
                    return _reject("entry compressed with a codec that is not installed")
                payload = codec[2](payload)
            value = self.serializer.loads(payload)
        except Exception:
            return _reject("entry whose payload cannot be read")
        return _new_entry(
            Entry,
            (
                value,
                created,
                created + refresh if refresh > 0.0 else _INF,
                created + expire if expire > 0.0 else _INF,
                compute,
            ),
        )


class Header(NamedTuple):
    """What an entry says of itself, read without touching its payload (for tools)."""

    kind: str  # "entry", "counter" or "foreign"
    serializer: str | None = None
    compression: str | None = None
    signed: bool = False
    created: float | None = None
    refresh_at: float | None = None  # absolute; None: never stale
    expire_at: float | None = None  # absolute; None: never expires by its own age
    compute_time: float | None = None
    version: int | None = None


def read_header(raw: bytes) -> Header:
    """The header of ``raw`` (at least its first :data:`HEADER_SIZE` bytes). Never raises
    and never unpickles: bytes that are not an envelope read as ``"foreign"``."""
    if raw[:1] != b"\xc5":
        return Header("counter" if _COUNTER.fullmatch(raw) else "foreign")
    if len(raw) < HEADER_SIZE:
        return Header("foreign")
    _, version, ser_id, flags, created, refresh, expire, compute = _HEADER.unpack_from(raw)
    codec = flags & _CODEC_MASK
    names = {1: "zlib", 2: "lz4", 3: "zstd"}
    serializer = serializer_name_of_id(ser_id)
    return Header(
        "entry",
        serializer,
        names.get(codec) if codec else None,
        bool(flags & _SIGNED),
        created,
        created + refresh if refresh > 0.0 else None,
        created + expire if expire > 0.0 else None,
        compute,
        version,
    )


def _reject(reason: str) -> Entry | None:
    warn_throttled(reason, "redmemo: read as a miss: %s", reason)
    return None
