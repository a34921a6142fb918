"""The DEBUG log of decisions, asked for one function."""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest


def test_each_decision_of_the_function_asked_for_is_logged(
    make_cache: Any, caplog: pytest.LogCaptureFixture
) -> None:
    cache = make_cache()
    cache.log_decisions("watched")
    started, release = threading.Event(), threading.Event()

    @cache(ttl=60, refresh=0.05, name="watched")
    def watched(x: int) -> int:
        if x == 2:
            started.set()
            release.wait(10)
        return x

    @cache(ttl=60, name="quiet")
    def quiet(x: int) -> int:
        return x

    with caplog.at_level(logging.DEBUG, logger="redmemo.decisions"):
        watched(1)
        watched(1)
        quiet(1)
        first = threading.Thread(target=watched, args=(2,))
        first.start()
        assert started.wait(10)
        second = threading.Thread(target=watched, args=(2,))
        second.start()
        threading.Event().wait(0.2)
        release.set()
        first.join(10)
        second.join(10)
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("redmemo.decisions")]
    assert all(" watched " in line for line in lines), lines
    text = "\n".join(lines)
    for said in ("miss: nothing usable", "computed in", "hit: a fresh value", "waiting", "waited"):
        assert said in text, said
    assert {r.name for r in caplog.records if r.name.startswith("redmemo.decisions")} == {
        "redmemo.decisions.watched"
    }


def test_nothing_is_logged_unless_debug_is_on(
    make_cache: Any, caplog: pytest.LogCaptureFixture
) -> None:
    cache = make_cache()
    cache.log_decisions()

    @cache(ttl=60, name="any")
    def anything(x: int) -> int:
        return x

    with caplog.at_level(logging.INFO, logger="redmemo"):
        anything(1)
        anything(1)
    assert not [r for r in caplog.records if r.name.startswith("redmemo.decisions")]


def test_the_environment_asks_for_it(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import redmemo

    monkeypatch.setenv("REDMEMO_LOG_DECISIONS", "envfn")
    cache = redmemo.Cache("memory://")

    @cache(ttl=60, name="envfn")
    def envfn(x: int) -> int:
        return x

    with caplog.at_level(logging.DEBUG, logger="redmemo.decisions"):
        envfn(1)
    assert any("envfn" in r.getMessage() for r in caplog.records)
