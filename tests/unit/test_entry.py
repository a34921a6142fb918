"""The envelope: round trips, size, and that no bytes at all can make decoding raise."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from redmemo.core.entry import HEADER_SIZE, EntryCodec, is_counter
from redmemo.core.serializers import (
    JsonSerializer,
    MsgpackSerializer,
    PairSerializer,
    PickleSerializer,
    RawSerializer,
    StringSerializer,
)
from redmemo.errors import ConfigurationError, SerializationError

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.text()
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)
pickle_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text()
    | st.binary()
    | st.floats(allow_nan=False)
    | st.datetimes(),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(), inner, max_size=4)
        | st.frozensets(st.integers(), max_size=4)
    ),
    max_leaves=20,
)
times = st.floats(min_value=0, max_value=4e9)
ages = st.none() | st.floats(min_value=0.001, max_value=1e6)


def _roundtrip(codec: EntryCodec, value: Any, created: float, refresh: Any, expire: Any) -> None:
    entry = codec.decode(
        codec.encode(value, created=created, refresh_after=refresh, expire_after=expire)
    )
    assert entry is not None
    assert entry.value == value
    assert entry.created == created
    if refresh is None:
        assert entry.refresh_at == math.inf
    else:
        assert entry.refresh_at == pytest.approx(created + refresh, rel=1e-6, abs=1e-3)
    if expire is None:
        assert entry.expire_at == math.inf


@given(pickle_values, times, ages, ages)
def test_pickle_round_trip(value: Any, created: float, refresh: Any, expire: Any) -> None:
    _roundtrip(EntryCodec(PickleSerializer()), value, created, refresh, expire)


@given(json_values, times, ages, ages)
def test_json_round_trip(value: Any, created: float, refresh: Any, expire: Any) -> None:
    _roundtrip(EntryCodec(JsonSerializer()), value, created, refresh, expire)


@given(json_values)
def test_msgpack_round_trip(value: Any) -> None:
    _roundtrip(EntryCodec(MsgpackSerializer()), value, 1.0, None, None)


@given(st.text())
def test_string_round_trip(value: str) -> None:
    _roundtrip(EntryCodec(StringSerializer()), value, 1.0, None, None)


@given(pickle_values, st.sampled_from(["zlib", "lz4", "zstd"]), st.booleans())
def test_compressed_and_signed_round_trip(value: Any, codec_name: str, signed: bool) -> None:
    codec = EntryCodec(
        PickleSerializer(),
        compression=codec_name,
        compress_threshold=0,
        secret=b"k" * 16 if signed else None,
    )
    _roundtrip(codec, value, 5.0, 1.0, 2.0)


@given(st.binary(max_size=200))
def test_random_bytes_never_raise(data: bytes) -> None:
    for codec in (
        EntryCodec(PickleSerializer()),
        EntryCodec(JsonSerializer(), compression="zlib", secret=b"s" * 16),
    ):
        codec.decode(data)
        codec.decode(b"\xc5\x01\x01" + data)
        codec.decode(b"\xc5\x01\x01\x01" + data)


@given(st.binary(max_size=50), st.integers(0, 60))
def test_a_flipped_byte_in_a_signed_entry_is_a_miss(junk: bytes, position: int) -> None:
    codec = EntryCodec(PickleSerializer(), secret=b"s" * 16)
    raw = bytearray(codec.encode({"v": junk}, created=1.0))
    position %= len(raw)
    raw[position] ^= 0x01
    assert codec.decode(bytes(raw)) is None or position < 4  # flags bits may leave it valid


def test_overhead_is_at_most_32_bytes() -> None:
    codec = EntryCodec(PickleSerializer())
    value = {"user": 7, "name": "x" * 100}
    payload = PickleSerializer().dumps(value)
    encoded = codec.encode(value, created=1.0, refresh_after=60, expire_after=600)
    assert len(encoded) - len(payload) == HEADER_SIZE
    assert HEADER_SIZE <= 32


def test_counters_decode_as_ints() -> None:
    codec = EntryCodec(PickleSerializer())
    entry = codec.decode(b"-42")
    assert entry is not None
    assert entry.value == -42
    assert codec.decode(b"4 2") is None
    assert is_counter(5)
    assert not is_counter(True)
    assert not is_counter(2**64)


def test_unserializable_value_names_its_type() -> None:
    with pytest.raises(
        SerializationError, match=r"json serializer cannot store a value of type builtins\.set"
    ):
        EntryCodec(JsonSerializer()).encode({1}, created=0)
    with pytest.raises(SerializationError, match="string"):
        EntryCodec(StringSerializer()).encode(1, created=0)


def test_the_advice_never_suggests_the_serializer_that_just_failed() -> None:
    import threading

    with pytest.raises(SerializationError) as caught:
        EntryCodec(PickleSerializer()).encode(threading.Lock(), created=0)
    assert "serializer='pickle'" not in str(caught.value)
    assert "_thread.lock" in str(caught.value)
    with pytest.raises(SerializationError, match="serializer='pickle'"):
        EntryCodec(JsonSerializer()).encode({1}, created=0)


def test_raw_serializer_stores_plain_bytes() -> None:
    ser = RawSerializer()
    assert ser.dumps(b"ab") == b"ab"
    assert ser.dumps("ab") == b"ab"
    assert ser.dumps(12) == b"12"
    assert ser.dumps(1.5) == b"1.5"
    assert ser.loads(b"12") == b"12"
    assert RawSerializer(decode=True).loads(b"12") == "12"
    with pytest.raises(TypeError):
        ser.dumps([1])


def test_pair_serializer_accepts_str_results() -> None:
    import json

    ser = PairSerializer(json.dumps, json.loads)
    codec = EntryCodec(ser)
    entry = codec.decode(codec.encode({"a": 1}, created=0))
    assert entry is not None
    assert entry.value == {"a": 1}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"compression": "gzip"}, "unknown compression"),
        ({"secret": b"short"}, "16 bytes"),
        ({"compress_threshold": -1}, "compress_threshold"),
    ],
)
def test_bad_codec_options(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        EntryCodec(PickleSerializer(), **kwargs)
