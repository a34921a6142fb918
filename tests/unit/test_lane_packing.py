"""The lane packs commands with hiredis directly: the bytes must be redis-py's own."""

from __future__ import annotations

from typing import Any

import pytest
import redis
from redis.exceptions import DataError

from redmemo.backends._sync import lane as lane_module
from redmemo.backends._sync.lane import SyncLane

pytest.importorskip("hiredis")

COMMANDS: list[tuple[Any, ...]] = [
    ("GET", "ns:key"),
    ("GET", "ns:clé:☃"),  # a key beyond ASCII
    ("EVALSHA", "a" * 40, 2, "k1", "k2", b"token", 30000, b"\x00\xff" * 600, 0, ""),
    ("ZADD", "z", 0.1, "m", 1e20, "n", -0.0, "o", 1 / 3, "p"),
    ("SET", "k", memoryview(b"view"), "PX", 10),
    ("MGET", *(f"k{i}" for i in range(50))),
]


def _lane(**settings: Any) -> SyncLane:
    return SyncLane(redis.ConnectionPool(**settings), {})


def _redis_py(command: tuple[Any, ...], **settings: Any) -> bytes:
    return b"".join(redis.Connection(**settings).pack_command(*command))


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: str(c[0]))
def test_packed_as_redis_py_packs(command: tuple[Any, ...]) -> None:
    packed = _lane()._pack(command)
    assert packed is not None  # packed by the lane itself
    assert packed == _redis_py(command)


def test_a_name_of_two_words_and_a_refused_argument_are_left_to_redis_py() -> None:
    lane = _lane()
    assert lane._pack(("SCRIPT LOAD", "return 1")) is None
    assert lane._pack(("SET", "k", None)) is None
    with pytest.raises(DataError):  # what redis-py says of it, as before
        redis.Connection().pack_command("SET", "k", None)


def test_another_encoding_is_left_to_redis_py() -> None:
    assert _lane(encoding="latin-1")._pack(("GET", "clé")) is None
    assert _lane(encoding_errors="replace")._pack(("GET", "k")) is None
    assert _lane(encoding="UTF-8")._pack(("GET", "k")) is not None


def test_without_hiredis_redis_py_packs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lane_module, "_hiredis_pack", None)
    assert _lane()._pack(("GET", "k")) is None
