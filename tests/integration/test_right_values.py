"""Right values only: nothing but a valid entry is served, serializers do what they say,
keys take what the user has, and secrets stay out of every message."""

from __future__ import annotations

import enum
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import redmemo
from redmemo.coordination.leases import Notice, notice_message
from tests.support.servers import direct_client

SECRET = "s" * 32


def test_a_bare_integer_at_a_decorated_key_is_never_served(
    make_cache: Callable[..., redmemo.Cache],
) -> None:
    for secret in (None, SECRET):
        cache = make_cache(secret=secret)

        @cache(ttl=60)
        def load(x: int) -> str:
            return f"computed {x}"

        cache.raw("SET", load.key(1), "42")  # written by something else
        assert load(1) == "computed 1"


@pytest.mark.redis
@pytest.mark.parametrize("secret", [None, SECRET])
def test_a_forged_notice_never_reaches_a_waiter(server_url: str, secret: str | None) -> None:
    redis_url = server_url
    namespace = "forged" if secret is None else "forged-signed"
    holder = redmemo.Cache(redis_url, namespace=namespace, secret=secret)
    waiter = redmemo.Cache(redis_url, namespace=namespace, secret=secret)
    started, release = threading.Event(), threading.Event()

    def slow(x: int) -> str:
        started.set()
        release.wait(30)
        return "the holder's"

    first = holder(ttl=60, lease=60, name="load")(slow)
    second = waiter(ttl=60, lease=60, wait_timeout=30, name="load")(lambda x: "unused")
    thread = threading.Thread(target=first, args=(1,))
    thread.start()
    assert started.wait(10)
    got: list[Any] = []
    waiting = threading.Thread(target=lambda: got.append(second(1)))
    waiting.start()
    deadline = time.monotonic() + 10
    while second.stats()["waits"] == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    key = second.key(1)
    holder.raw("PUBLISH", holder.keyspace.channel, notice_message(key, Notice.VALUE, b"1337"))
    time.sleep(0.1)
    release.set()
    thread.join(10)
    waiting.join(30)
    assert got == ["the holder's"]
    holder.close()
    waiter.close()


def test_a_signed_cache_serves_nothing_unsigned(make_cache: Callable[..., redmemo.Cache]) -> None:
    cache = make_cache(secret=SECRET)
    cache.raw("SET", cache.full_key("plain"), "7")
    assert cache.get("plain", "absent") == "absent"
    assert cache.increment("plain", 0) == 7  # counters are read by what changes them
    assert cache.increment("hits") == 1
    assert cache.get("hits", "absent") == "absent"


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(st.binary(max_size=64), st.integers().map(lambda n: str(n).encode())))
def test_no_foreign_bytes_reach_a_caller_of_a_signed_cache(data: bytes) -> None:
    cache = redmemo.Cache("memory://", namespace="fuzz", secret=SECRET)

    @cache(ttl=60, name="fuzzed")
    def load(x: int) -> str:
        return "computed"

    cache.raw("SET", load.key(1), data)
    cache.raw("SET", cache.full_key("k"), data)
    assert load(1) == "computed"
    assert cache.get("k", "absent") == "absent"


def test_each_serializer_does_what_it_says_for_ints(store: Any) -> None:
    with pytest.raises(redmemo.SerializationError):
        store.set("n", 5, serializer="string")  # str values only
    store.set("n", 5, serializer="raw")  # plain bytes, as in Redis itself
    assert store.get("n", serializer="raw") == b"5"
    store.set("n", 5)  # pickle holds ints: a counter
    assert store.get("n") == 5
    assert store.increment("n") == 6


class Color(str, enum.Enum):
    RED = "red"


def test_a_str_subclass_is_a_key_by_its_string_value(store: Any) -> None:
    store.set(Color.RED, "warm")
    assert store.get("red") == "warm"
    assert store.get(Color.RED) == "warm"
    assert store.delete(Color.RED) == 1


@pytest.mark.parametrize(
    "url",
    [
        "redis://user:hunter2secret@host:notaport/0",
        "rediz://user:hunter2secret@host:6379/0",
        "redis://:hunter2#secret@host:6379/0",
        "unix://user:hunter2secret@",
    ],
)
def test_a_password_never_appears_in_an_error(url: str) -> None:
    with pytest.raises(redmemo.ConfigurationError) as caught:
        redmemo.Cache(url)
    assert "hunter2" not in str(caught.value)
    assert "secret" not in str(caught.value)


def test_a_password_never_appears_in_reprs_or_returned_configuration() -> None:
    url = "redis://:hunter2%23secret@127.0.0.1:1/0"  # a '#' in a password, encoded
    cache = redmemo.Cache(url, secret=SECRET)
    assert "hunter2" not in repr(cache)
    registry = redmemo.CacheRegistry()
    registry.configure({"main": {"url": url, "secret": SECRET, "password": "hunter2"}})
    shown = str(registry.config()) + str(registry.config("main"))
    assert "hunter2" not in shown
    assert SECRET not in shown
    assert registry.config("main")["url"].startswith("redis://")
    with pytest.raises(redmemo.ConfigurationError) as caught:
        redmemo.Cache("memory://", password="hunter2")
    assert "hunter2" not in str(caught.value)


def test_named_memory_stores_are_shared_and_unnamed_ones_are_not() -> None:
    first = redmemo.Cache("memory://shared-test", namespace="n")
    second = redmemo.Cache("memory://shared-test", namespace="n")
    private = redmemo.Cache("memory://", namespace="n")
    first.set("k", "v")
    assert second.get("k") == "v"  # as two caches on one Redis
    assert private.get("k") is None
    with pytest.raises(redmemo.ConfigurationError, match="maxsize"):
        redmemo.Cache("memory://shared-test?maxsize=5")


@pytest.mark.parametrize("text", [b"007", b"-0", b"+1", b" 1"])
def test_increment_refuses_what_redis_refuses(store: Any, text: bytes) -> None:
    store.raw("SET", store.cache.full_key("n"), text)
    with pytest.raises(redmemo.NotACounterError):
        store.increment("n")


def test_forever_means_no_expiry_whatever_the_default(
    face: Callable[..., Any], make_cache: Callable[..., redmemo.Cache]
) -> None:
    store = face(ttl=60)
    store.set("default", 1)
    store.set("forever", 1, ttl=redmemo.FOREVER)
    assert store.ttl("default") is not None
    assert store.ttl("forever") is None
    store.expire("default", redmemo.FOREVER)
    assert store.ttl("default") is None
    cache = make_cache(ttl=60)

    @cache(ttl=redmemo.FOREVER)
    def load(x: int) -> int:
        return x

    @cache
    def other(x: int) -> int:
        return x

    assert (load.options.ttl, other.options.ttl) == (None, 60)


def test_a_ttl_of_zero_or_less_expires_now_as_in_django(store: Any) -> None:
    store.set("k", 1)
    store.set("k", 2, ttl=0)
    assert store.get("k") is None
    assert store.add("k", 3, ttl=-1) is False
    assert store.get("k") is None
    store.set("k", 4)
    assert store.expire("k", 0) is True
    assert store.exists("k") is False
    store.multi_set({"a": 1, "b": 2})
    store.multi_set({"a": 1, "b": 2}, ttl=0)
    assert store.multi_get(["a", "b"]) == [None, None]


def test_a_miss_is_a_miss_everywhere(store: Any) -> None:
    cache = store.cache
    cache.raw("SET", cache.full_key("foreign"), b"\xc5 not an entry at all")
    assert store.get("foreign", "miss") == "miss"
    assert store.multi_get(["foreign"], "miss") == ["miss"]
    assert store.exists("foreign") is False
    assert store.add("foreign", "mine") is True  # what reads as a miss is replaced
    assert store.get("foreign") == "mine"
    assert store.add("foreign", "again") is False  # a real entry is not
    assert store.get("foreign") == "mine"


@pytest.mark.redis
@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(alphabet="ab:*?[]{}%#\\ -", min_size=1, max_size=8))
def test_no_invalidation_reaches_a_key_outside_its_namespace(
    server_url: str, namespace: str
) -> None:
    redis_url = server_url
    cache = redmemo.Cache(redis_url, namespace=namespace)
    foreign = [
        redmemo.Cache(redis_url, namespace=namespace + ":sub").full_key("k"),
        redmemo.Cache(redis_url, namespace=namespace + "x").full_key("k"),
        namespace + ":plain",
        "{" + namespace + ":k}",
        namespace + "*",
        cache.keyspace.prefix[:-1],
    ]
    with direct_client(redis_url) as direct:
        for key in foreign:
            direct.set(key, b"foreign")

        @cache(key="user:{i}", ttl=60, tags=["t"], name="hostile")
        def load(i: int) -> int:
            return i

        for run in (
            lambda: cache.invalidate("user:1"),
            lambda: cache.invalidate_tags("t"),
            lambda: cache.invalidate_pattern("*"),
            load.invalidate_all,
            cache.clear,
        ):
            load(1)
            load(2)
            run()
            assert all(direct.get(key) == b"foreign" for key in foreign), foreign
        direct.delete(*foreign)
    cache.close()


def test_invalidate_tags_takes_a_list_as_tags_does(store: Any) -> None:
    cache = store.cache

    @cache(key="i:{i}", ttl=60, tags=["a:{i}", "b"])
    def load(i: int) -> int:
        return i

    load(1)
    load(2)
    assert store.invalidate_tags(["a:1", "a:2"]) == 2
    with pytest.raises(TypeError, match="tags are non-empty str"):
        store.invalidate_tags([1])


def test_every_key_redmemo_shows_is_a_key_every_api_takes(store: Any) -> None:
    cache = store.cache
    seen: list[Any] = []
    cache.add_hook(seen.append)

    @cache(key="item:{i}", ttl=60)
    def item(i: int) -> str:
        return f"item {i}"

    @cache(ttl=60)
    def plain(i: int) -> str:
        return f"plain {i}"

    for fn in (item, plain):
        value = fn(1)
        shown = {fn.key(1), cache.full_key(fn.key(1))}
        shown |= {event.key for event in seen if getattr(event, "key", None) is not None}
        assert shown == {fn.key(1)}  # one name for one entry, wherever it is shown
        key = fn.key(1)
        assert store.get(key) == value
        assert store.exists(key)
        assert store.multi_get([key]) == [value]
        assert store.expire(key, 120)
        assert store.ttl(key) is not None
        assert not store.add(key, "other")
        assert store.invalidate(key) == 1
        assert store.get(key) is None
        fn(1)
        assert store.delete(key) == 1
        store.set(key, "written")
        assert fn(1) == "written"  # the function reads what set() wrote at its key
        seen.clear()
    # The user's own key and the key redmemo shows for it are one entry.
    assert cache.full_key("item:1") == item.key(1)
    store.set("item:2", "set by hand")
    assert store.get(item.key(2)) == "set by hand" == item(2)
    # A key that only looks like a stored one is the user's own name.
    odd = cache.keyspace.prefix + "{a{b}"
    store.set(odd, "odd")
    assert cache.full_key(odd) != odd
    assert store.get(odd) == "odd"
