"""The names other libraries' users know: rediscache's shortcuts and counters, cacheme's
tag objects (see docs/coming-from.md)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest

import redmemo


def _eventually(check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 10
    while not check():
        assert time.monotonic() < deadline, "never happened"
        time.sleep(0.01)


def test_cache_json_answers_the_default_then_the_value(make_cache: Any) -> None:
    cache = make_cache()
    calls: list[int] = []

    @cache.cache_json(10, 60, default="pending")
    def report(n: int) -> dict[str, Any]:
        calls.append(n)
        return {"n": n, "items": (1, 2)}

    assert report(1) == "pending"  # rediscache's default: do not wait
    _eventually(lambda: report(1) != "pending")
    assert report(1) == {"n": 1, "items": [1, 2]}  # JSON: the tuple is a list
    assert calls == [1]
    assert report.function(2) == {"n": 2, "items": (1, 2)}  # the function itself
    assert cache.ttl(report.key(1)) == pytest.approx(60, abs=1)


def test_the_wait_shortcuts_wait_and_raw_gives_text(make_cache: Any) -> None:
    cache = make_cache()

    @cache.cache_raw_wait(10, 60)
    def count(n: int) -> int:
        return n * 10

    @cache.cache_raw_wait(10, 60, decode=False)
    def blob(n: int) -> str:
        return f"b{n}"

    @cache.cache_json_wait(10, 60)
    async def names() -> list[str]:
        return ["ada", "alan"]

    assert count(4) == 40  # computed here: the function's own value
    assert count(4) == "40"  # then read back as rediscache's decoded raw value
    assert blob(1) == "b1"
    assert blob(1) == b"b1"
    assert asyncio.run(names()) == ["ada", "alan"]
    with pytest.raises(redmemo.ConfigurationError, match=r"unknown option\(s\) \['unknown'\]"):
        cache.cache_raw(10, 60, wait=False, default=None, unknown=True)


def test_get_stats_names_rediscaches_counters_and_deletes_them(make_cache: Any) -> None:
    cache = make_cache()

    @cache.cache_json_wait(10, 60)
    def double(n: int) -> int:
        return n * 2

    @cache(ttl=60, wait=False, default=-1)
    def later(n: int) -> int:
        return n

    @cache(ttl=60)
    def broken(n: int) -> int:
        raise ValueError(n)

    double(1)
    double(1)
    double(2)
    later(5)
    with pytest.raises(ValueError, match="1"):
        broken(1)
    stats = cache.get_stats()
    assert stats == {
        "Refresh": stats["Refresh"],
        "Wait": 3,  # double(1), double(2), broken(1): computed for their callers
        "Failed": 1,
        "Missed": 4,
        "Success": 1,
        "Default": 1,
    }
    assert stats["Refresh"] >= 3  # double twice and broken once (later's fill may lag)
    assert cache.get_stats(delete=True)["Missed"] == 4
    assert cache.get_stats() == dict.fromkeys(stats, 0)


@pytest.mark.redis
def test_get_stats_counts_every_process_when_shared(redis_url: str) -> None:
    # Two caches on one namespace stand for two processes sharing their counts.
    first = redmemo.Cache(redis_url, namespace="shared-stats", share_stats=60)
    second = redmemo.Cache(redis_url, namespace="shared-stats", share_stats=60)

    def square(n: int) -> int:
        return n * n

    one = first(ttl=60, name="square")(square)
    two = second(ttl=60, name="square")(square)
    one(1)
    two(1)
    two(2)
    second.flush_stats()
    stats = first.get_stats()
    assert (stats["Missed"], stats["Success"]) == (2, 1)
    assert first.get_stats(delete=True)["Missed"] == 2
    assert first.get_stats()["Missed"] == 0  # deleted for every process
    two(3)
    second.flush_stats()
    assert first.get_stats()["Missed"] == 1  # new counts only, none counted twice
    first.close()
    second.close()


def test_a_tag_is_an_object(make_cache: Any) -> None:
    cache = make_cache()

    @cache(ttl=60, tags=["cats"])
    def cat(name: str) -> str:
        return name.upper()

    cat("tom")
    cat("felix")
    tag = cache.tags["cats"]
    assert tag.name == "cats"
    assert tag.invalidate() == 2
    assert not cache.exists(cat.key("tom"))
    cat("tom")
    assert asyncio.run(tag.ainvalidate()) == 1
    with pytest.raises(TypeError, match="non-empty str"):
        cache.tags[""]
