"""Stampede protection and lease takeover across real processes on a real Redis."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

import redmemo
from tests.support.servers import direct_client
from tests.support.spawn import collect, spawn

pytestmark = [pytest.mark.redis, pytest.mark.slow]


@pytest.mark.parametrize("mode", ["threads", "tasks"])
def test_a_cold_key_is_computed_once_across_four_processes(server_url: str, mode: str) -> None:
    namespace = f"stampede-{mode}"
    start_at = time.time() + 3.0
    processes = [spawn(server_url, namespace, mode, start_at, body=0.5) for _ in range(4)]
    reports = [collect(p) for p in processes]
    with direct_client(server_url) as client:
        executions = int(client.get(f"{namespace}:executions") or 0)
    assert executions == 1
    results = [r for report in reports for r in report["results"]]
    assert len(results) == 32
    assert all(r == results[0] for r in results)
    # One process computed; the others waited for it and were handed its result.
    assert sum(report["stats"]["fills"] for report in reports) == 1


def test_a_killed_holder_is_taken_over_after_its_lease(server_url: str) -> None:
    namespace = "takeover"
    holder = spawn(server_url, namespace, "one", time.time(), body=600, lease=1.0)
    try:
        with direct_client(server_url) as client:
            deadline = time.monotonic() + 30
            while client.get(f"{namespace}:executions") is None:
                assert time.monotonic() < deadline, "the holder never started computing"
                time.sleep(0.01)
        os.kill(holder.pid, signal.SIGKILL)
    finally:
        holder.communicate(timeout=30)  # also closes its pipes
    successor = spawn(server_url, namespace, "one", time.time(), body=0.05, lease=1.0)
    report = collect(successor)
    assert report["results"] == [{"x": 1, "pid": successor.pid}]
    assert report["stats"]["takeovers"] == 1
    with direct_client(server_url) as client:
        assert int(client.get(f"{namespace}:executions") or 0) == 2


def test_an_overtaken_holder_does_not_overwrite_the_newer_value(server_url: str) -> None:
    # Two Cache objects share nothing in process: on one Redis they act as two processes.
    with (
        redmemo.Cache(server_url, namespace="overtake") as first,
        redmemo.Cache(server_url, namespace="overtake") as second,
    ):
        _race(first, second)


def _race(first: redmemo.Cache, second: redmemo.Cache) -> None:
    release = threading.Event()
    started = threading.Event()

    def slow_body(x: int) -> str:
        started.set()
        release.wait(30)
        return "old"

    def fast_body(x: int) -> str:
        return "new"

    fast_body.__qualname__ = slow_body.__qualname__ = "shared"  # one function, one key
    slow = first(ttl=60, lease=0.3)(slow_body)
    fast = second(ttl=60, lease=0.3)(fast_body)
    outcome: list[str] = []
    holder = threading.Thread(target=lambda: outcome.append(slow(1)))
    holder.start()
    assert started.wait(10)
    # The holder is alive and keeps its lease past 0.3 s: a caller gives up waiting and
    # computes without storing, rather than take the lease over.
    assert fast(1) == "new"
    assert (fast.stats()["takeovers"], fast.stats()["fills"]) == (0, 0)
    # An explicit refresh takes the lease whoever holds it, and stores.
    assert fast.refresh(1) == "new"
    release.set()
    holder.join(10)
    assert outcome == ["old"]  # the slow caller still gets its own result...
    assert slow.stats()["overtaken"] == 1
    assert fast(1) == "new"  # ...but did not overwrite the newer value
    assert fast.stats()["hits"] == 1


def test_a_fill_in_another_process_does_not_store_after_an_invalidation(server_url: str) -> None:
    namespace = "cross-race"
    holder = spawn(server_url, namespace, "tagged", time.time(), body=1.5)
    with direct_client(server_url) as client:
        deadline = time.monotonic() + 30
        while client.get(f"{namespace}:executions") is None:
            assert time.monotonic() < deadline, "the holder never started computing"
            time.sleep(0.01)
    with redmemo.Cache(server_url, namespace=namespace) as cache:
        cache.invalidate_tags("race")  # while the holder computes
    first = collect(holder)
    assert first["results"] == [{"x": 1, "pid": holder.pid}]
    assert first["stats"]["overtaken"] == 1
    # Not stored: the next caller computes afresh instead of reading the outdated result.
    second_process = spawn(server_url, namespace, "tagged", time.time(), body=0.01)
    second = collect(second_process)
    assert second["results"] == [{"x": 1, "pid": second_process.pid}]
    with direct_client(server_url) as client:
        assert int(client.get(f"{namespace}:executions") or 0) == 2
