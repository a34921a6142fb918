"""Designed keys and every kind of invalidation, on every backend and face."""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from collections.abc import Callable
from typing import Any, ClassVar

import pytest

import redmemo
from tests.support.commands import commands_during
from tests.support.functions import Clock


class Counter:
    """A body that counts its calls and returns (argument, call number)."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, *values: Any) -> tuple[Any, int]:
        self.calls += 1
        return values, self.calls


# -- designed keys -------------------------------------------------------------------------


def test_a_template_key_is_the_designed_key(decorate: Callable[..., Any]) -> None:
    def load(user_id: int, lang: str = "en") -> str:
        return f"{user_id}/{lang}"

    fn = decorate(load, key="user:{user_id}:{lang}", ttl=60)
    assert fn(7) == "7/en"
    assert fn.wrapped.key(7) == fn.cache.full_key("user:7:en")
    assert fn.cache.get("user:7:en") == "7/en"  # the store API reads the same entry
    assert fn.cache.invalidate("user:7:en") == 1
    assert fn.cache.exists("user:7:en") is False


def test_templates_take_attributes_items_and_format_specs(decorate: Callable[..., Any]) -> None:
    class User:
        id = 42

    def load(user: User, filters: dict[str, str], page: int) -> int:
        return page

    fn = decorate(load, key="u:{user.id}:{filters[kind]}:{page:03d}", ttl=60)
    assert fn.wrapped.key(User(), {"kind": "admin"}, 5) == fn.cache.full_key("u:42:admin:005")


def test_argument_values_cannot_break_out_of_their_place(decorate: Callable[..., Any]) -> None:
    def load(name: str) -> str:
        return name

    fn = decorate(load, key="user:{name}", ttl=60)
    hostile = "x}*{?[a]%"
    key = fn.wrapped.key(hostile)
    assert fn.cache.keyspace.body(key) == "user:" + hostile  # the text, unchanged
    assert key.count("{") == 1  # one hash tag, the keyspace's own
    assert fn.wrapped.key("a*") != fn.wrapped.key("a%2A")
    assert fn.cache.keyspace.kind(key) == "entry"
    fn("a*")
    fn("ab")
    assert fn.cache.invalidate_pattern("user:a\\*") == 1  # the literal "a*" only
    assert fn.cache.exists("user:ab")
    assert fn.cache.invalidate_pattern("user:a*") == 1


def test_invalidating_by_the_text_of_the_template_reaches_any_value(
    decorate: Callable[..., Any],
) -> None:
    body = Counter()

    def load(name: str) -> Any:
        return body(name)

    fn = decorate(load, key="user:{name}", ttl=60, tags=["t:{name}"])
    hostile = ["a?b", "50%", "x*", "{y}", "[z]", "__tag__:t2", "#lease:{q}", "é\\"]
    for name in hostile:
        fn(name)
    for name in hostile:
        assert fn.cache.invalidate("user:" + name) == 1, name
        fn(name)
        assert fn.cache.invalidate_tags("t:" + name) == 1, name
    assert body.calls == 2 * len(hostile)


def test_a_bare_template_field_cannot_name_an_internal_key(
    decorate: Callable[..., Any],
) -> None:
    body = Counter()

    def load(x: str) -> Any:
        return body(x)

    fn = decorate(load, key="{x}", ttl=60, tags=["t2"])
    fn("#tag:{t2}")  # a value shaped like the tag index's own key
    fn("other")
    assert fn.cache.invalidate_tags("t2") == 2  # the tag still reaches both entries
    fn("#tag:{t2}")
    assert body.calls == 3


def test_a_bad_template_fails_when_decorating(make_cache: Callable[..., redmemo.Cache]) -> None:
    cache = make_cache()

    def load(user_id: int) -> int:
        return user_id

    with pytest.raises(redmemo.ConfigurationError, match=r"names 'uid'.*user_id"):
        cache(key="user:{uid}")(load)
    with pytest.raises(redmemo.ConfigurationError, match="positional field"):
        cache(key="user:{}")(load)
    with pytest.raises(redmemo.ConfigurationError, match="names 'nope'"):
        cache(tags=["t:{nope}"])(load)
    with pytest.raises(redmemo.ConfigurationError, match="malformed"):
        cache(key="user:{user_id")(load)
    with pytest.raises(redmemo.ConfigurationError, match="not both"):
        cache(key="k", node=lambda c: None)(load)


def test_a_callable_key_gets_the_arguments_by_name(decorate: Callable[..., Any]) -> None:
    seen: list[Any] = []

    def load(user_id: int, *extra: Any, **options: Any) -> int:
        return user_id

    def make_key(c: Any) -> str:
        seen.append((c.user_id, c.args, c.kwargs))
        return f"u:{c.user_id}:{len(c.args)}:{sorted(c.kwargs)}"

    fn = decorate(load, key=make_key, ttl=60)
    fn(3, "a", "b", colour="red")
    assert seen[0] == (3, ("a", "b"), {"colour": "red"})
    assert fn.cache.exists("u:3:2:['colour']")


# -- nodes ---------------------------------------------------------------------------------


def test_nodes_make_keys_and_manage_their_entries(
    decorate: Callable[..., Any], make_cache: Callable[..., redmemo.Cache]
) -> None:
    cache = make_cache()

    class UserNode(redmemo.Node):
        user_id = redmemo.Field()
        lang = redmemo.Field(default="en")

        def key(self) -> str:
            return f"user:{self.user_id}:{self.lang}"

        class Meta:
            ttl = "10m"
            tags = ("users",)
            cache = None

    body = Counter()
    fn = decorate(body, cache=cache, node=lambda c: UserNode(user_id=c.values[0]))
    fn(1)
    fn(2)
    assert UserNode.objects.get(user_id=1) == ((1,), 1)
    assert UserNode.objects.get(user_id=9, default="none") == "none"
    left = cache.ttl("user:1:en")
    assert left is not None
    assert 590 < left <= 600  # Meta.ttl applied
    assert UserNode.objects.invalidate(user_id=1) == 1
    assert cache.exists("user:1:en") is False
    assert cache.exists("user:2:en") is True
    fn(3)
    assert UserNode.objects.invalidate() == 2  # every entry of the node
    assert not cache.exists("user:2:en")
    assert not cache.exists("user:3:en")
    fn(4)
    assert cache.invalidate_tags("users") == 1  # Meta.tags


def test_invalid_nodes_reach_every_entry_that_named_them(
    decorate: Callable[..., Any], make_cache: Callable[..., redmemo.Cache]
) -> None:
    cache = make_cache()

    class OwnerNode(redmemo.Node):  # cacheme's InvalidNode: a key to invalidate by
        owner_id = redmemo.Field()

        def key(self) -> str:
            return f"owner:{self.owner_id}"

    class BookNode(redmemo.Node):
        book_id = redmemo.Field()
        owner_id = redmemo.Field()

        def key(self) -> str:
            return f"book:{self.book_id}"

        def invalid_nodes(self) -> list[redmemo.Node]:
            return [OwnerNode(owner_id=self.owner_id)]

    body = Counter()
    book = decorate(
        body,
        cache=cache,
        ttl=60,
        node=lambda c: BookNode(book_id=c.values[0], owner_id=c.values[1]),
    )
    book(1, 200)
    book(2, 200)
    book(3, 300)
    assert OwnerNode.objects.invalidate(owner_id=200) >= 0
    assert not cache.exists("book:1")
    assert not cache.exists("book:2")
    assert cache.exists("book:3")  # another owner's book stays
    book(1, 200)
    assert body.calls == 4  # recomputed after the invalidation
    cache.invalidate("owner:300")  # the plain key works as well
    assert not cache.exists("book:3")


def test_node_fields_are_checked(make_cache: Callable[..., redmemo.Cache]) -> None:
    class ANode(redmemo.Node):
        ident = redmemo.Field()

        def key(self) -> str:
            return f"a:{self.ident}"

    class BNode(redmemo.Node):
        ident = redmemo.Field()

        def key(self) -> str:
            return f"b:{self.ident}"

    with pytest.raises(redmemo.ConfigurationError, match="needs field 'ident'"):
        ANode()
    with pytest.raises(redmemo.ConfigurationError, match=r"no field\(s\) \['other'\]"):
        ANode(ident=1, other=2)
    assert ANode.objects is not BNode.objects
    assert ANode.objects.node is ANode
    with pytest.raises(redmemo.ConfigurationError, match="unknown option"):

        class Bad(redmemo.Node):
            class Meta:
                colour = "red"

    with pytest.raises(redmemo.ConfigurationError, match=r"Meta.tags template .* names 'idnet'"):

        class Typo(redmemo.Node):
            ident = redmemo.Field()

            class Meta:
                tags = ("thing:{idnet}",)


# -- tags, dependencies, patterns, functions -------------------------------------------------


def test_invalidate_tags_removes_every_entry_with_any_of_the_tags(
    decorate: Callable[..., Any],
) -> None:
    body = Counter()
    fn = decorate(body, ttl=60, tags=["user:{values[0]}", "users"])

    def other_body(x: int) -> int:
        return x

    other = decorate(other_body, cache=fn.cache, ttl=60, tags=["others"])
    fn(1)
    fn(2)
    other(1)
    assert fn.cache.invalidate_tags("user:1") == 1
    fn(1)
    fn(2)
    assert body.calls == 3  # only user 1 was recomputed
    assert fn.cache.invalidate_tags("users", "nope") == 2
    fn(1)
    fn(2)
    other(1)
    assert body.calls == 5
    assert other.wrapped.stats()["hits"] == 1


def test_tag_bookkeeping_shrinks_when_entries_expire(
    decorate: Callable[..., Any], make_cache: Callable[..., redmemo.Cache], backend: str
) -> None:
    clock = Clock()
    cache = make_cache(clock=clock)
    # A registration lasts as long as the fill (its lease) and the entry it stores.
    fn = decorate(Counter(), cache=cache, ttl=0.2, lease=0.3, tags=["t:{values[0]}", "all"])
    for i in range(50):
        fn(i)
    index = cache.keyspace.tag("all")
    if backend != "memory":
        assert cache.raw("ZCARD", index) == 50
        assert fn.settle(lambda: cache.raw("EXISTS", index) == 0, timeout=10)
        assert not cache.raw("KEYS", cache.keyspace.prefix + "#*")
    else:
        store = cache._family.store
        assert len(store.indexes) > 50
        clock.advance(1)
        cache.set("any-write", 1)  # writes sweep what expired
        assert store.indexes == {}


def test_dependencies_are_invalidated_through_the_key_they_depend_on(
    decorate: Callable[..., Any],
) -> None:
    def owner_of(book: int) -> dict[str, int]:
        return {"book": book, "owner": book * 100}

    fn = decorate(owner_of, ttl=60, depends_on=["book:{book}", "user:{result[owner]}"])
    fn(1)
    fn(2)
    assert fn.cache.invalidate("user:100") == 1  # no entry at that key, one dependent
    assert fn.wrapped.key(1) != fn.wrapped.key(2)
    calls_before = fn.wrapped.stats()["fills"]
    fn(1)
    fn(2)
    assert fn.wrapped.stats()["fills"] == calls_before + 1
    fn.cache.invalidate("book:2")
    fn(2)
    assert fn.wrapped.stats()["fills"] == calls_before + 2


def test_invalidate_pattern_stays_in_the_namespace(
    decorate: Callable[..., Any], make_cache: Callable[..., redmemo.Cache]
) -> None:
    def load(user_id: int) -> int:
        return user_id

    mine = decorate(load, key="user:{user_id}", ttl=60)
    other_cache = make_cache()
    other_cache.set("user:1", "kept")
    for i in range(30):
        mine(i)
    mine.cache.set("team:1", "kept")
    assert mine.cache.invalidate_pattern("user:1*") == 11  # 1, 10..19
    assert mine.cache.exists("user:2")
    assert mine.cache.get("team:1") == "kept"
    assert other_cache.get("user:1") == "kept"
    with pytest.raises(TypeError, match="pattern"):
        mine.cache.invalidate_pattern("")


def test_invalidate_all_removes_one_functions_entries(decorate: Callable[..., Any]) -> None:
    first = decorate(Counter(), ttl=60)
    second_body = Counter()

    def second_fn(*values: Any) -> Any:
        return second_body(*values)

    second = decorate(second_fn, cache=first.cache, ttl=60)
    for i in range(5):
        first(i)
        second(i)
    removed = first._run(first.wrapped.invalidate_all())
    assert removed == 5
    second(0)
    assert second_body.calls == 5  # untouched
    first(0)
    assert first.wrapped.stats()["fills"] == 6


def test_invalidate_all_by_scan_spares_functions_with_similar_names(
    decorate: Callable[..., Any], make_cache: Callable[..., redmemo.Cache]
) -> None:
    mine = decorate(Counter(), name="shop.item", ttl=60)
    # Another deployment's version of it (one cache may not hold both), same namespace.
    elsewhere = make_cache(namespace=mine.cache.namespace)
    others = [
        decorate(Counter(), cache=elsewhere, name="shop.item", version=2, ttl=60),
        decorate(Counter(), cache=mine.cache, name="shop.items", ttl=60),
        decorate(Counter(), cache=mine.cache, name="shop", ttl=60),
    ]
    for fn in (mine, *others):
        for i in range(3):
            fn(i)
    assert mine._run(mine.wrapped.invalidate_all()) == 3
    for fn in others:
        fn(0)
        assert fn.wrapped.stats()["fills"] == 3, fn.wrapped  # still cached
    mine(0)
    assert mine.wrapped.stats()["fills"] == 4


@pytest.mark.parametrize("index", [False, True])
def test_cache_info_and_invalidate_all_with_and_without_an_index(
    decorate: Callable[..., Any], index: bool
) -> None:
    fn = decorate(Counter(), ttl=60, index=index)
    for i in range(4):
        fn(i)
    assert fn._run(fn.wrapped.cache_info()).currsize == 4
    assert fn._run(fn.wrapped.invalidate_all()) == 4
    assert fn._run(fn.wrapped.cache_info()).currsize == 0


def test_index_false_is_refused_for_keys_the_user_renders(make_cache: Any) -> None:
    cache = make_cache()
    with pytest.raises(redmemo.ConfigurationError, match="index=False"):
        cache(key="user:{user_id}", index=False)(lambda user_id: user_id)
    with pytest.raises(redmemo.ConfigurationError, match="index must be True or False"):
        cache(index="yes")


@pytest.mark.redis
def test_only_indexed_functions_keep_an_index_in_redis(redis_url: str, redis_server: Any) -> None:
    with redmemo.Cache(redis_url, namespace="ix") as cache:
        plain = cache(ttl=60, name="plain")(Counter())
        indexed = cache(ttl=60, name="indexed", index=True)(Counter())
        templated = cache(ttl=60, name="templated", key="t:{values[0]}")(Counter())
        for fn in (plain, indexed, templated):
            for i in range(3):
                fn(i)
        with redis_server.client() as client:
            found = sorted(k.decode() for k in client.scan_iter(match="ix:#fn:*"))
            assert found == [cache.keyspace.index("fn", n) for n in ("indexed", "templated")]
        # A miss of a function without tags or index: no registration.
        calls = commands_during(redis_server, lambda: plain(99))
    assert "zadd" not in calls
    assert calls["evalsha"] == 2  # the lease, the store


def test_callbacks_see_hits_and_misses_and_cannot_break_calls(
    decorate: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    events: list[Any] = []

    def on_hit(key: str, value: Any, c: Any) -> None:
        events.append(("hit", value, c.values))
        raise RuntimeError("a broken callback")

    def on_miss(key: str, c: Any) -> None:
        events.append(("miss", c.values))

    fn = decorate(Counter(), ttl=60, on_hit=on_hit, on_miss=on_miss)
    with caplog.at_level(logging.WARNING, logger="redmemo"):
        fn(5)
        assert fn(5) == ((5,), 1)
    assert events == [("miss", (5,)), ("hit", ((5,), 1), (5,))]
    assert "on_hit callback" in caplog.text


@pytest.mark.redis
def test_a_hit_stays_one_get_with_tags(redis_url: str, redis_server: Any) -> None:
    with redmemo.Cache(redis_url, namespace="hit-tags") as cache:
        fn = cache(ttl=60, tags=["a", "b", "c:{values[0]}"], depends_on=["d"])(Counter())
        fn(1)
        calls = commands_during(redis_server, lambda: [fn(1) for _ in range(20)])
    assert calls == {"get": 20}


# -- the stale-write race ------------------------------------------------------------------

# "function" has key= (found through its index); "function-scan" digest keys, found by
# SCAN (its fill in progress too, through its lease).
KINDS = ["key", "tag", "dependency", "pattern", "node", "function", "function-scan", "clear"]


def race_node() -> type[redmemo.Node]:
    """A node class of the test's own: Node.objects acts on every cache that used the node
    in this process, so a class shared by tests would reach other tests' caches."""

    class RaceNode(redmemo.Node):
        ident = redmemo.Field()

        def key(self) -> str:
            return f"race:{self.ident}"

    return RaceNode


def _invalidate(
    kind: str, cache: redmemo.Cache, wrapped: Any, mode: str, loop: Any, node: Any = None
) -> None:
    def run(result: Any) -> Any:
        return loop.run_until_complete(result) if mode == "async" else result

    if kind == "key":
        run(wrapped.invalidate(1))
    elif kind == "tag":
        cache.invalidate_tags("race")
    elif kind == "dependency":
        cache.invalidate("source:1")
    elif kind == "pattern":
        cache.invalidate_pattern("race:*")
    elif kind == "node":
        node.objects.invalidate()
    elif kind == "clear":
        cache.clear()
    else:
        run(wrapped.invalidate_all())


@pytest.mark.parametrize("kind", KINDS)
def test_a_fill_that_began_before_an_invalidation_does_not_store(
    kind: str, mode: str, make_cache: Callable[..., redmemo.Cache], loop: Any
) -> None:
    cache = make_cache()
    started, release = threading.Event(), threading.Event()
    version = {"value": "old"}

    def compute(ident: int) -> str:
        seen = version["value"]  # read before the invalidation, like a slow query would
        started.set()
        assert release.wait(10)
        return seen

    options: dict[str, Any] = {"ttl": 60, "tags": ["race"], "depends_on": ["source:{ident}"]}
    node = race_node()
    if kind == "node":
        options["node"] = node
    elif kind != "function-scan":
        options["key"] = "race:{ident}"

    outcome: list[str] = []
    if mode == "sync":
        fn: Any = cache(**options)(compute)
        holder = threading.Thread(target=lambda: outcome.append(fn(1)))
        holder.start()
        assert started.wait(10)
        _invalidate(kind, cache, fn, mode, loop, node)
        version["value"] = "new"
        release.set()
        holder.join(10)
        assert outcome == ["old"]  # the caller gets what it computed...
        assert fn(1) == "new"  # ...but it was not stored: the next call recomputes
        assert fn.stats()["overtaken"] == 1
    else:

        async def acompute(ident: int) -> str:
            seen = version["value"]
            started.set()
            assert await asyncio.to_thread(release.wait, 10)
            return seen

        afn: Any = cache(**options)(acompute)

        async def invalidate() -> None:
            # On an async function, invalidate() and invalidate_all() are awaited.
            if kind == "key":
                await afn.invalidate(1)
            elif kind.startswith("function"):
                await afn.invalidate_all()
            elif kind == "clear":
                await cache.aclear()
            else:
                await asyncio.to_thread(_invalidate, kind, cache, afn, "sync", None, node)

        async def race() -> None:
            task = asyncio.ensure_future(afn(1))
            assert await asyncio.to_thread(started.wait, 10)
            await invalidate()
            version["value"] = "new"
            release.set()
            assert await task == "old"
            assert await afn(1) == "new"
            await cache.aclose()

        loop.run_until_complete(race())
        assert afn.stats()["overtaken"] == 1


# -- the cache-level API through both faces --------------------------------------------------


def test_cache_level_invalidation_through_both_faces(store: Any) -> None:
    cache = store.cache

    @cache(key="item:{i}", ttl=60, tags=["items", "item:{i}"], depends_on=["owner:{i}"])
    def item(i: int) -> int:
        return i

    for i in range(6):
        item(i)
    assert store.invalidate("item:0") == 1
    assert store.invalidate_tags("item:1") == 1
    assert store.invalidate("owner:2") == 1  # a dependent
    assert store.invalidate_pattern("item:[34]") == 2
    assert store.invalidate_tags("items") == 1  # item:5 is what is left
    assert not any(cache.exists(f"item:{i}") for i in range(6))
    with pytest.raises(TypeError, match="tags are non-empty str"):
        store.invalidate_tags("")


def test_node_objects_and_callbacks_through_both_faces(
    mode: str, make_cache: Callable[..., redmemo.Cache], loop: Any
) -> None:
    cache = make_cache()

    class PingNode(redmemo.Node):  # the test's own class: see race_node()
        ident = redmemo.Field()
        events: ClassVar[list[tuple[str, str]]] = []

        def key(self) -> str:
            return f"ping:{self.ident}"

        def on_hit(self, key: str, value: Any) -> None:
            PingNode.events.append(("hit", key))

        def on_miss(self, key: str) -> None:
            PingNode.events.append(("miss", key))

    fn = cache(node=PingNode, ttl=60)(lambda ident: ident * 2)
    fn(1)
    fn(1)
    full = cache.full_key("ping:1")
    assert PingNode.events == [("miss", full), ("hit", full)]
    if mode == "sync":
        assert PingNode.objects.get(ident=1) == 2
        assert PingNode.objects.invalidate(ident=1) == 1
        fn(2)
        assert PingNode.objects.invalidate() == 1
    else:

        async def use() -> None:
            assert await PingNode.objects.aget(ident=1) == 2
            assert await PingNode.objects.ainvalidate(ident=1) == 1
            fn(2)
            assert await PingNode.objects.ainvalidate() == 1
            await cache.aclose()

        loop.run_until_complete(use())
    assert PingNode.objects.get(ident=2, default="gone") == "gone"


def test_a_bounded_memory_store_never_evicts_what_stops_a_stale_write(mode: str, loop: Any) -> None:
    """memory://?maxsize=N bounds entries only: leases, registrations and markers stay."""
    cache = redmemo.Cache("memory://?maxsize=5", namespace="bounded")
    started, release = threading.Event(), threading.Event()
    version = {"value": "old"}

    def compute(ident: int) -> str:
        seen = version["value"]
        if ident == 1:
            started.set()
            assert release.wait(10)
        return seen

    fn: Any = cache(ttl=60, tags=["race"], depends_on=["source:{ident}"])(compute)
    outcome: list[str] = []
    holder = threading.Thread(target=lambda: outcome.append(fn(1)))
    holder.start()
    assert started.wait(10)
    for i in range(2, 60):  # far past the bound while the fill of 1 runs
        fn(i)
    if mode == "sync":
        cache.invalidate_tags("race")
    else:
        loop.run_until_complete(cache.ainvalidate_tags("race"))
    version["value"] = "new"
    release.set()
    holder.join(10)
    assert outcome == ["old"]
    assert fn(1) == "new"
    assert fn.stats()["overtaken"] == 1
    cache.close()


def test_keys_shaped_like_bookkeeping_are_entries_like_any_other(
    decorate: Callable[..., Any],
) -> None:
    def load(x: str) -> str:
        return x

    fn = decorate(load, key="job:{x}", ttl=60)
    for name in ("1:lease", "2:lease:w", "3:inv", "4"):
        fn(name)
    assert fn.cache.invalidate_pattern("job:*") == 4
    assert not any(fn.cache.exists(f"job:{n}") for n in ("1:lease", "2:lease:w", "3:inv", "4"))


@pytest.mark.redis
def test_a_namespace_never_reaches_into_another(redis_url: str) -> None:
    """app, app:sub and appx share one Redis; each one's clear, patterns and tags stay
    within it (memory caches share nothing, so this is a Redis test)."""
    base = "app" + uuid.uuid4().hex[:6]
    caches = [redmemo.Cache(redis_url, namespace=ns) for ns in (base, base + ":sub", base + "x")]
    outer, nested, prefixed = caches
    for cache in caches:
        cache.set("k", cache.namespace)

        @cache(key="user:{i}", ttl=60, tags=["t"])
        def load(i: int) -> int:
            return i

        load(1)
    assert nested.clear() == 2
    assert outer.get("k") == base
    assert prefixed.get("k") == base + "x"
    assert outer.invalidate_pattern("*") == 2
    assert prefixed.get("k") == base + "x"
    assert outer.invalidate_tags("t") == 0
    assert prefixed.invalidate_tags("t") == 1
    for cache in caches:
        cache.close()
