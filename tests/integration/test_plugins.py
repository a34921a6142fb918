"""Plugins around every store-API command, on every backend and face."""

from __future__ import annotations

import logging
from typing import Any

import pytest

import redmemo
from redmemo.plugins import COMMANDS, HitMissRatioPlugin, TimingPlugin

CALLS = {
    "get": ("k",),
    "set": ("k", 1),
    "add": ("new", 2),
    "multi_get": (["k", "new"],),
    "multi_set": ({"a": 1},),
    "exists": ("k",),
    "increment": ("n",),
    "expire": ("k", 60),
    "delete": ("a",),
    "clear": (),
    "raw": ("PING",),
}


class Recorder:
    def __init__(self, use_async: bool) -> None:
        self.seen: list[tuple[str, str, tuple[Any, ...], Any]] = []
        for command in COMMANDS:
            setattr(self, "pre_" + command, self._pre(command, use_async))
            setattr(self, "post_" + command, self._post(command, use_async))

    def _pre(self, command: str, use_async: bool) -> Any:
        def pre(cache: Any, *args: Any, **kwargs: Any) -> None:
            self.seen.append(("pre", command, args, None))

        async def apre(cache: Any, *args: Any, **kwargs: Any) -> None:
            pre(cache, *args, **kwargs)

        return apre if use_async else pre

    def _post(self, command: str, use_async: bool) -> Any:
        def post(cache: Any, *args: Any, took: float, ret: Any, **kwargs: Any) -> None:
            assert took >= 0
            self.seen.append(("post", command, args, ret))

        async def apost(cache: Any, *args: Any, took: float, ret: Any, **kwargs: Any) -> None:
            post(cache, *args, took=took, ret=ret, **kwargs)

        return apost if use_async else post


@pytest.mark.parametrize("use_async", [False, True], ids=["plain-methods", "async-methods"])
def test_every_command_runs_between_its_pre_and_post(face: Any, use_async: bool) -> None:
    recorder = Recorder(use_async)
    store = face(plugins=[recorder])
    for command, args in CALLS.items():
        result = getattr(store, command)(*args)
        assert recorder.seen[-2] == ("pre", command, args, None)
        assert recorder.seen[-1] == ("post", command, args, result)
    assert [c for kind, c, _, _ in recorder.seen if kind == "post"] == list(CALLS)


def test_a_failing_plugin_is_logged_and_the_command_goes_on(
    face: Any, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken:
        def pre_set(self, cache: Any, *args: Any, **kwargs: Any) -> None:
            raise RuntimeError("plugin bug")

        def post_get(self, cache: Any, *args: Any, **kwargs: Any) -> None:
            raise RuntimeError("plugin bug")

    store = face(plugins=[Broken()])
    with caplog.at_level(logging.WARNING, logger="redmemo"):
        store.set("k", "v")
        assert store.get("k") == "v"
    assert "plugin Broken.pre_set failed" in caplog.text
    assert "plugin Broken.post_get failed" in caplog.text


def test_hit_miss_ratio_counts_the_store_and_decorated_calls(face: Any) -> None:
    store = face(plugins=[HitMissRatioPlugin()])
    cache = store.cache
    store.set("a", 1)
    store.get("a")
    store.get("missing")
    store.multi_get(["a", "b", "c"])
    assert cache.hit_miss_ratio == {"hits": 2, "total": 5, "hit_ratio": 0.4}

    @cache(ttl=60)
    def double(x: int) -> int:
        return 2 * x

    double(1)
    double(1)
    assert cache.hit_miss_ratio["hits"] == 3
    assert cache.hit_miss_ratio["total"] == 7


def test_timing_profiles_each_command(face: Any) -> None:
    store = face(plugins=[TimingPlugin()])
    for _ in range(3):
        store.set("k", 1)
    store.get("k")
    profiling = store.cache.profiling
    assert profiling["set_count"] == 3
    assert profiling["get_count"] == 1
    assert 0 <= profiling["set_min"] <= profiling["set_avg"] <= profiling["set_max"]
    assert "delete_count" not in profiling


def test_plugins_added_later_and_removed_take_effect_at_once() -> None:
    cache = redmemo.Cache("memory://")
    assert "get" not in cache.__dict__  # no plugin: the class's own method
    plugin = TimingPlugin()
    cache.plugins.append(plugin)
    cache.get("k")
    assert cache.profiling["get_count"] == 1
    cache.plugins.remove(plugin)
    cache.get("k")
    assert cache.profiling["get_count"] == 1
    assert "get" not in cache.__dict__


def test_plugins_added_with_plus_equals_or_assigned_take_effect() -> None:
    cache = redmemo.Cache("memory://")
    cache.plugins += [TimingPlugin()]  # as pycached's documentation writes it
    cache.get("k")
    assert cache.profiling["get_count"] == 1
    cache.plugins = [HitMissRatioPlugin()]
    cache.get("k")
    assert cache.profiling["get_count"] == 1  # the timing plugin is gone
    assert cache.hit_miss_ratio["total"] == 1
    cache.plugins = []
    assert "get" not in cache.__dict__


def test_plugins_configured_by_dotted_path() -> None:
    redmemo.caches.configure(
        {
            "profiled": {
                "url": "memory://",
                "plugins": [
                    "redmemo.plugins.TimingPlugin",
                    {"class": "redmemo.plugins.HitMissRatioPlugin"},
                ],
            }
        }
    )
    try:
        cache = redmemo.caches["profiled"]
        cache.get("k")
        assert cache.profiling["get_count"] == 1
        assert cache.hit_miss_ratio["total"] == 1
        config = redmemo.caches.config("profiled")
        config["plugins"].append("changed")
        assert redmemo.caches.config("profiled")["plugins"] == [
            "redmemo.plugins.TimingPlugin",
            {"class": "redmemo.plugins.HitMissRatioPlugin"},
        ]
    finally:
        redmemo.caches.configure({})


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("NoDots", "not a dotted path"),
        ("redmemo.plugins.Nothing", "cannot import plugin"),
        ({"klass": "x.Y"}, "needs 'class'"),
    ],
)
def test_a_bad_plugin_spec_is_named(spec: Any, message: str) -> None:
    with pytest.raises(redmemo.ConfigurationError, match=message):
        redmemo.Cache("memory://", plugins=[spec])
