"""PrometheusHook, checked by scraping the exposition text of a registry of our own."""

from __future__ import annotations

import threading
from typing import Any

import prometheus_client
import pytest

import redmemo
from redmemo.contrib.prometheus import PrometheusHook


def _scrape(registry: Any) -> dict[str, float]:
    """Every sample as ``name{labels}`` -> value."""
    text = prometheus_client.generate_latest(registry).decode()
    samples: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


def test_events_become_counters_and_histograms(make_cache: Any) -> None:
    registry = prometheus_client.CollectorRegistry()
    cache = make_cache(hooks=[PrometheusHook(registry=registry)], namespace="prom")

    @cache(ttl=60, name="load")
    def load(x: int) -> int:
        if x < 0:
            raise ValueError(x)
        return x

    load(1)
    load(1)
    load(2)
    with pytest.raises(ValueError, match="-1"):
        load(-1)
    samples = _scrape(registry)
    labels = '{cache="prom",function="load"}'
    assert samples[f"redmemo_hits_total{labels}"] == 1
    assert samples[f"redmemo_misses_total{labels}"] == 3
    assert samples[f"redmemo_fills_total{labels}"] == 2
    assert samples[f"redmemo_failures_total{labels}"] == 1
    assert samples[f"redmemo_compute_duration_seconds_count{labels}"] == 2
    commands = [
        k for k in samples if k.startswith("redmemo_backend_command_duration_seconds_count")
    ]
    assert commands
    assert all('cache="prom"' in k for k in commands)


def test_waits_are_counted_and_timed(make_cache: Any) -> None:
    registry = prometheus_client.CollectorRegistry()
    cache = make_cache(hooks=[PrometheusHook(registry=registry)], namespace="promwait")
    started, release = threading.Event(), threading.Event()

    @cache(ttl=60, name="slow")
    def slow(x: int) -> int:
        started.set()
        release.wait(10)
        return x

    first = threading.Thread(target=slow, args=(1,))
    first.start()
    assert started.wait(10)
    second = threading.Thread(target=slow, args=(1,))
    second.start()
    labels = '{cache="promwait",function="slow"}'
    for _ in range(500):
        if _scrape(registry).get(f"redmemo_waits_total{labels}") == 1:
            break
        threading.Event().wait(0.01)
    release.set()
    first.join(10)
    second.join(10)
    samples = _scrape(registry)
    assert samples[f"redmemo_waits_total{labels}"] == 1
    assert samples[f"redmemo_wait_duration_seconds_count{labels}"] == 1
    assert samples[f"redmemo_wait_duration_seconds_sum{labels}"] > 0


def test_breaker_transitions_and_backend_errors_are_counted() -> None:
    registry = prometheus_client.CollectorRegistry()
    cache = redmemo.Cache(
        "redis://127.0.0.1:1/0?socket_connect_timeout=0.2",
        namespace="promdown",
        hooks=[PrometheusHook(registry=registry)],
        breaker=True,
    )
    try:

        @cache(ttl=60, name="down")
        def down(x: int) -> int:
            return x

        for i in range(5):
            assert down(i) == i
        samples = _scrape(registry)
        assert samples['redmemo_backend_errors_total{cache="promdown",function="down"}'] >= 3
        # Once at least (a slow machine may see it close for a probe and open again).
        assert samples['redmemo_breaker_transitions_total{cache="promdown",state="open"}'] >= 1
    finally:
        cache.close()


def test_two_hooks_on_one_registry_share_its_metrics() -> None:
    registry = prometheus_client.CollectorRegistry()
    one = redmemo.Cache("memory://", namespace="a", hooks=[PrometheusHook(registry=registry)])
    two = redmemo.Cache("memory://", namespace="b", hooks=[PrometheusHook(registry=registry)])
    for cache in (one, two):
        cache(ttl=60, name="f")(lambda x: x)(1)
    samples = _scrape(registry)
    assert samples['redmemo_misses_total{cache="a",function="f"}'] == 1
    assert samples['redmemo_misses_total{cache="b",function="f"}'] == 1
