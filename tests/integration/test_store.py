"""The store API, on every backend (memory, redis) through every face (sync, async)."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

import redmemo
from tests.conftest import Face

VALUES: list[Any] = [
    None,
    0,
    -7,
    2**70,
    1.5,
    True,
    "text",
    "",
    b"\x00\xffbytes",
    [1, [2, 3]],
    (1, "a"),
    {"a": {"b": [1, None]}},
    {1, 2, 3},
    Decimal("1.10"),
    dt.datetime(2026, 11, 21, 12, 0, tzinfo=dt.timezone.utc),
]


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_set_then_get_returns_an_equal_value(store: Face, value: Any) -> None:
    store.set("k", value)
    got = store.get("k", redmemo.MISSING)
    assert got == value
    assert type(got) is type(value)


def test_a_miss_is_told_apart_from_a_stored_none(store: Face) -> None:
    store.set("none", None)
    assert store.get("none", redmemo.MISSING) is None
    assert store.get("absent", redmemo.MISSING) is redmemo.MISSING
    assert store.get("absent") is None
    assert store.get("absent", "fallback") == "fallback"


def test_values_are_copies_not_shared_objects(store: Face) -> None:
    original = {"list": [1]}
    store.set("k", original)
    original["list"].append(2)
    first = store.get("k")
    first["list"].append(3)
    assert store.get("k") == {"list": [1]}


def test_ttl_is_applied_and_reported(store: Face) -> None:
    store.set("k", "v", ttl="1h")
    left = store.ttl("k")
    assert left is not None
    assert 3590 < left <= 3600
    store.set("forever", "v")
    assert store.ttl("forever") is None
    assert store.ttl("absent") is None


def test_a_value_past_its_ttl_is_gone(store: Face) -> None:
    store.set("k", "v", ttl=0.05)
    deadline = time.monotonic() + 5
    while store.exists("k") and time.monotonic() < deadline:
        time.sleep(0.02)
    assert store.get("k", redmemo.MISSING) is redmemo.MISSING
    assert not store.exists("k")


def test_the_cache_default_ttl_applies_when_set_has_none(face: Callable[..., Face]) -> None:
    store = face(ttl="10m")
    store.set("k", 1)
    left = store.ttl("k")
    assert left is not None
    assert 590 < left <= 600


def test_add_stores_only_when_absent(store: Face) -> None:
    assert store.add("k", "first") is True
    assert store.add("k", "second") is False
    assert store.get("k") == "first"


def test_multi_set_and_multi_get_keep_order_and_fill_misses(store: Face) -> None:
    store.multi_set({"a": 1, "b": None, "c": [3]}, ttl=60)
    assert store.multi_get(["c", "missing", "a", "b"], "dflt") == [[3], "dflt", 1, None]
    store.multi_set([("d", "x"), ("e", "y")])
    assert store.multi_get(["d", "e"]) == ["x", "y"]
    assert store.multi_get([]) == []
    left = store.ttl("a")
    assert left is not None
    assert left <= 60


def test_multi_get_refuses_a_single_string(store: Face) -> None:
    with pytest.raises(TypeError, match="sequence of keys"):
        store.multi_get("abc")


def test_exists(store: Face) -> None:
    assert store.exists("k") is False
    store.set("k", None)
    assert store.exists("k") is True


def test_increment_counts_from_zero_and_from_a_stored_int(store: Face) -> None:
    assert store.increment("hits") == 1
    assert store.increment("hits", 10) == 11
    assert store.increment("hits", -20) == -9
    assert store.get("hits") == -9
    store.set("n", 41)
    assert store.increment("n") == 42


def test_increment_keeps_the_ttl(store: Face) -> None:
    store.set("n", 1, ttl=100)
    store.increment("n")
    left = store.ttl("n")
    assert left is not None
    assert 0 < left <= 100


def test_increment_of_a_non_counter_raises_and_keeps_the_value(store: Face) -> None:
    store.set("k", "text")
    with pytest.raises(redmemo.NotACounterError, match=r"'.*k'"):
        store.increment("k")
    assert store.get("k") == "text"
    with pytest.raises(TypeError, match="int delta"):
        store.increment("k", 1.5)


def test_expire_sets_and_removes_a_ttl(store: Face) -> None:
    assert store.expire("absent", 10) is False
    store.set("k", "v")
    assert store.expire("k", "2m") is True
    left = store.ttl("k")
    assert left is not None
    assert 110 < left <= 120
    assert store.expire("k", None) is True
    assert store.ttl("k") is None
    assert store.get("k") == "v"


def test_delete_returns_how_many_existed(store: Face) -> None:
    store.multi_set({"a": 1, "b": 2})
    assert store.delete("a", "b", "c") == 2
    assert store.delete("a") == 0
    assert store.delete() == 0


def test_clear_removes_this_namespace_only(face: Callable[..., Face]) -> None:
    mine, other = face(), face()
    mine.multi_set({f"k{i}": i for i in range(1200)})  # more than one SCAN batch
    mine.set("glob*[chars]?", 1)
    other.set("k1", "kept")
    assert mine.clear() == 1201
    assert mine.get("k1") is None
    assert other.get("k1") == "kept"


def test_clear_does_not_touch_a_namespace_that_only_shares_a_prefix(
    face: Callable[..., Face],
) -> None:
    short, longer = face(namespace="app"), face(namespace="app2")
    longer.set("k", "kept")
    short.set("k", "gone")
    short.clear()
    assert longer.get("k") == "kept"


def test_raw_sends_a_command_unchanged(store: Face) -> None:
    store.raw("SET", "rawkey", "1")
    assert store.raw("GET", "rawkey") == b"1"
    assert store.raw("DEL", "rawkey") == 1


@pytest.mark.parametrize(
    "key", [None, 1, b"bytes", "", ("a",)], ids=["none", "int", "bytes", "empty", "tuple"]
)
def test_a_key_that_is_not_a_non_empty_str_is_refused(store: Face, key: Any) -> None:
    with pytest.raises(redmemo.InvalidKeyError, match="non-empty str"):
        store.set(key, 1)
    with pytest.raises(redmemo.InvalidKeyError):
        store.get(key)


# 0 and negative numbers mean "expire now" (test_right_values.py), as in Django.
@pytest.mark.parametrize("ttl", ["-5s", "0s", "soon", "10x", True, [1], float("nan")])
def test_a_bad_ttl_is_refused_and_nothing_changes(store: Face, ttl: Any) -> None:
    store.set("k", "old")
    with pytest.raises(redmemo.InvalidTTLError, match="ttl"):
        store.set("k", "new", ttl=ttl)
    with pytest.raises(redmemo.InvalidTTLError):
        store.multi_set({"k": "new", "j": 1}, ttl=ttl)
    assert store.get("k") == "old"
    assert store.exists("j") is False


def test_a_value_the_serializer_cannot_handle_is_refused_and_nothing_changes(
    face: Callable[..., Face],
) -> None:
    store = face(serializer="json")
    store.set("k", {"ok": True})
    with pytest.raises(redmemo.SerializationError, match=r"json.*object"):
        store.set("k", object())
    with pytest.raises(redmemo.SerializationError):
        store.multi_set({"a": 1, "k": {1, 2}})
    assert store.get("k") == {"ok": True}
    assert store.exists("a") is False


@pytest.mark.parametrize(
    "garbage",
    [
        b"",
        b"\xc5",
        b"\xc5\x01\x01\x00" + b"\x00" * 10,
        b"\x80\x04not a pickle",
        b"hello",
        b"\xc5" * 40,
    ],
)
def test_corrupt_or_foreign_bytes_read_as_a_miss(store: Face, garbage: bytes) -> None:
    store.raw("SET", store.cache.full_key("k"), garbage)
    assert store.get("k", redmemo.MISSING) is redmemo.MISSING
    assert store.multi_get(["k"], "miss") == ["miss"]


def test_an_entry_of_another_format_version_reads_as_a_miss(store: Face) -> None:
    store.set("k", "v")
    raw = store.raw("GET", store.cache.full_key("k"))
    store.raw("SET", store.cache.full_key("k"), raw[:1] + b"\x09" + raw[2:])
    assert store.get("k", redmemo.MISSING) is redmemo.MISSING


def test_an_entry_written_with_another_serializer_reads_as_a_miss(store: Face) -> None:
    store.set("k", {"a": 1}, serializer="json")
    assert store.get("k", redmemo.MISSING) is redmemo.MISSING  # the cache default is pickle
    assert store.get("k", serializer="json") == {"a": 1}


def test_per_call_serializer_override(store: Face) -> None:
    store.set("s", "text", serializer="string")
    raw = store.raw("GET", store.cache.full_key("s"))
    assert raw.endswith(b"text")
    assert store.get("s", serializer="string") == "text"


def test_a_signed_cache_never_reads_entries_without_its_signature(
    face: Callable[..., Face],
) -> None:
    secret = "s" * 32
    signed = face(secret=secret)
    intruder = face(namespace=signed.cache.namespace)  # same keys, no secret
    intruder.set("k", "planted")
    assert signed.get("k", redmemo.MISSING) is redmemo.MISSING
    forger = face(namespace=signed.cache.namespace, secret="x" * 32)
    forger.set("k", "forged")
    assert signed.get("k", redmemo.MISSING) is redmemo.MISSING
    signed.set("k", "genuine")
    assert signed.get("k") == "genuine"


def test_compression_shrinks_large_values(face: Callable[..., Face]) -> None:
    store = face(compression="zlib", compress_threshold=100)
    value = "abc" * 1000
    store.set("big", value)
    store.set("small", "abc")
    assert store.get("big") == value
    assert store.get("small") == "abc"
    assert len(store.raw("GET", store.cache.full_key("big"))) < 200


def test_a_disabled_cache_stores_nothing(face: Callable[..., Face]) -> None:
    store = face(enabled=False)
    store.set("k", 1)
    assert store.add("k", 1) is False
    store.multi_set({"a": 1})
    assert store.get("k", "miss") == "miss"
    assert store.multi_get(["a"], "miss") == ["miss"]
    assert store.exists("k") is False
    assert store.increment("n", 3) == 3
    assert store.delete("k") == 0
    assert store.clear() == 0
    assert store.expire("k", 10) is False


def test_increment_is_atomic_under_threads(make_cache: Callable[..., redmemo.Cache]) -> None:
    cache = make_cache()
    per_thread, threads = 200, 8

    def work() -> None:
        for _ in range(per_thread):
            cache.increment("counter")

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert cache.get("counter") == per_thread * threads


def test_sync_and_async_faces_share_one_store(
    make_cache: Callable[..., redmemo.Cache], loop: Any
) -> None:
    cache = make_cache()
    cache.set("from-sync", 1)
    loop.run_until_complete(cache.aset("from-async", 2))
    assert loop.run_until_complete(cache.aget("from-sync")) == 1
    assert cache.get("from-async") == 2
    loop.run_until_complete(cache.aclose())


def test_get_or_set_makes_a_missing_value_once_and_keeps_it(store: Face) -> None:
    made: list[int] = []

    def make() -> dict[str, int]:
        made.append(1)
        return {"n": len(made)}

    assert store.get_or_set("k", make, 60) == {"n": 1}
    assert store.get_or_set("k", make, 60) == {"n": 1}
    assert made == [1]
    assert store.get("k") == {"n": 1}  # the plain API reads what get_or_set stored
    assert 0 < store.ttl("k") <= 60
    store.set("k", "replaced")
    assert store.get_or_set("k", make) == "replaced"
    # A plain default is added, not called; None is a value like any other.
    assert store.get_or_set("plain", 5) == 5
    assert store.get_or_set("plain", 6) == 5
    assert store.get_or_set("none", lambda: None) is None
    assert store.get("none", "absent") is None
    # ttl 0: made and returned, not kept; FOREVER: kept without expiry.
    assert store.get_or_set("now", make, 0) == {"n": 2}
    assert store.get("now", "absent") == "absent"
    assert store.get_or_set("ever", make, redmemo.FOREVER) == {"n": 3}
    assert store.ttl("ever") is None


def test_get_or_set_after_invalidate_makes_the_value_again(store: Face) -> None:
    made: list[int] = []
    assert store.get_or_set("k", lambda: made.append(1) or len(made), 60) == 1
    store.invalidate("k")
    assert store.get_or_set("k", lambda: made.append(1) or len(made), 60) == 2
    assert store.get(store.cache.full_key("k")) == 2  # the stored form names the same entry


def test_get_or_set_takes_an_async_factory_on_the_async_face(make_cache: Any) -> None:
    import asyncio

    cache = make_cache()

    async def make() -> str:
        await asyncio.sleep(0)
        return "awaited"

    async def scenario() -> Any:
        got = await cache.aget_or_set("k", make, 60)
        await cache.aclose()
        return got

    assert asyncio.run(scenario()) == "awaited"
    assert cache.get("k") == "awaited"


def test_a_per_command_timeout_bounds_the_wait(store: Face) -> None:
    # pycached's ``timeout=`` on each command: the answer as usual when in time.
    store.set("k", 1, timeout=5)
    assert store.get("k", timeout=5) == 1
    assert store.add("k", 2, timeout="5s") is False
    assert store.multi_get(["k", "x"], timeout=5) == [1, None]
    store.multi_set({"a": 1}, timeout=5)
    assert store.exists("a", timeout=5) is True
    assert store.increment("a", 2, timeout=5) == 3
    assert store.expire("a", 60, timeout=5) is True
    assert 0 < store.ttl("a", timeout=5) <= 60
    assert store.delete("a", timeout=5) == 1
    with pytest.raises(redmemo.InvalidTTLError, match="timeout"):
        store.get("k", timeout=-1)
    assert store.clear(timeout=5) >= 1


@pytest.mark.redis
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_per_command_timeout_gives_up_on_a_paused_server(mode: str) -> None:
    import asyncio
    import os
    import signal

    from tests.support.servers import start_redis

    server = start_redis()
    try:
        # A socket timeout far longer than the command's: only ``timeout=`` can end the
        # wait with CommandTimeoutError (the socket's would be another BackendError).
        cache = redmemo.Cache(server.url + "?socket_timeout=30", breaker=False)
        cache.set("k", "v")
        os.kill(server.process.pid, signal.SIGSTOP)
        try:

            def read() -> Any:
                if mode == "sync":
                    return cache.get("k", timeout=0.3)
                return asyncio.run(cache.aget("k", timeout=0.3))

            with pytest.raises(redmemo.CommandTimeoutError, match=r"get did not finish within 0.3"):
                read()
            with pytest.raises(TimeoutError):  # it is a TimeoutError too
                cache.set("k", "w", timeout=0.3)
        finally:
            os.kill(server.process.pid, signal.SIGCONT)
        assert cache.get("k", timeout=5) in ("v", "w")  # the timed-out write may have landed
        cache.close()
    finally:
        server.stop()
