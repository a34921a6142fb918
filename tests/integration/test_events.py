"""Events and hooks: what a decorated function reports, on every backend and face."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest

import redmemo
from redmemo import events


class Recorder:
    def __init__(self, wants_timings: bool = False) -> None:
        self.events: list[events.Event] = []
        self.wants_timings = wants_timings

    def __call__(self, event: events.Event) -> None:
        self.events.append(event)

    def kinds(self) -> list[str]:
        return [type(e).__name__ for e in self.events if not isinstance(e, events.CommandTiming)]


def test_a_hook_sees_each_decision_of_a_call(
    decorate: Callable[..., Any], make_cache: Callable[..., redmemo.Cache]
) -> None:
    recorder = Recorder()
    fn = decorate(lambda x: x * 2, cache=make_cache(hooks=[recorder]), ttl=60)
    assert fn(3) == 6
    assert fn(3) == 6
    fn.invalidate(3)
    fn(3)
    assert recorder.kinds() == ["Miss", "Fill", "Hit", "Miss", "Fill"]
    hit = recorder.events[2]
    assert isinstance(hit, events.Hit)
    assert (hit.key, hit.value, hit.args) == (fn.wrapped.key(3), 6, (3,))
    assert hit.function == fn.wrapped.stats_name
    fill = recorder.events[1]
    assert isinstance(fill, events.Fill)
    assert fill.duration >= 0
    with pytest.raises(AttributeError):
        hit.key = "other"  # type: ignore[misc]


def test_statistics_are_a_hook_like_any_other(
    decorate: Callable[..., Any], make_cache: Callable[..., redmemo.Cache]
) -> None:
    recorder = Recorder()
    cache = make_cache()
    fn = decorate(lambda x: x, cache=cache, ttl=60)
    cache.add_hook(recorder)
    fn(1)
    fn(1)
    counted = fn.wrapped.stats()
    assert (counted["misses"], counted["fills"], counted["hits"]) == (1, 1, 1)
    assert recorder.kinds() == ["Miss", "Fill", "Hit"]
    assert cache.hooks[-1] is recorder


def test_a_failing_hook_is_logged_and_never_breaks_the_call(
    decorate: Callable[..., Any],
    make_cache: Callable[..., redmemo.Cache],
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(event: events.Event) -> None:
        raise RuntimeError("hook bug")

    after = Recorder()
    fn = decorate(lambda x: x + 1, cache=make_cache(hooks=[broken, after]), ttl=60)
    with caplog.at_level(logging.WARNING, logger="redmemo"):
        assert fn(1) == 2
        assert fn(1) == 2
    assert "hook" in caplog.text
    assert "hook bug" in caplog.text
    assert after.kinds() == ["Miss", "Fill", "Hit"]  # later hooks still run


def test_a_hook_that_wants_timings_gets_every_backend_operation(
    decorate: Callable[..., Any], make_cache: Callable[..., redmemo.Cache]
) -> None:
    timed = Recorder(wants_timings=True)
    cache = make_cache()
    fn = decorate(lambda x: x, cache=cache, ttl=60)
    fn(1)  # the stack is built before the hook comes: it must be rebuilt with timing
    cache.add_hook(timed)
    fn(1)
    fn(2)
    operations = [e.operation for e in timed.events if isinstance(e, events.CommandTiming)]
    assert operations[:2] == ["get", "get"]
    assert "lease" in operations
    assert "store" in operations
    assert all(e.ok for e in timed.events if isinstance(e, events.CommandTiming))


def test_without_a_timing_hook_nothing_is_timed(make_cache: Callable[..., redmemo.Cache]) -> None:
    recorder = Recorder()
    cache = make_cache(hooks=[recorder])
    cache.set("k", 1)
    cache.get("k")
    assert not any(isinstance(e, events.CommandTiming) for e in recorder.events)


def test_hooks_must_be_callable() -> None:
    with pytest.raises(TypeError, match="hook"):
        redmemo.Cache("memory://", hooks=[42])  # type: ignore[list-item]


def test_a_hook_can_ask_for_some_events_only(
    decorate: Callable[..., Any], make_cache: Callable[..., redmemo.Cache]
) -> None:
    cache = make_cache()
    picky: list[events.Event] = []

    class Picky:
        wants_events = (events.Fill,)

        def __call__(self, event: events.Event) -> None:
            picky.append(event)

    cache.add_hook(Picky())
    fn = decorate(lambda x: x, cache=cache, ttl=60)
    fn(1)
    fn(1)
    fn(2)
    assert [type(e) for e in picky] == [events.Fill, events.Fill]
