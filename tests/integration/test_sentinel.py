"""Sentinel: the master found through the sentinels, and a failover followed under load
without a restart, an error or a wrong value."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis

import redmemo
from tests.support.load import Load
from tests.support.sentinel import Sentinels, start_sentinels

pytestmark = [pytest.mark.redis, pytest.mark.slow]


@pytest.fixture(scope="module")
def sentinels() -> Iterator[Sentinels]:
    setup = start_sentinels()
    try:
        yield setup
    finally:
        setup.stop()


def test_the_master_is_found_through_the_sentinels(sentinels: Sentinels) -> None:
    with redmemo.Cache(sentinels.url, namespace="found") as cache:
        calls: list[int] = []

        @cache(ttl=60)
        def double(x: int) -> int:
            calls.append(x)
            return 2 * x

        assert [double(3), double(3)] == [6, 6]
        assert calls == [3]
        cache.set("k", "v")
        assert cache.get("k") == "v"

        async def check() -> str:
            return await cache.aget("k")

        assert asyncio.run(check()) == "v"
    with sentinels.master().client() as direct:
        assert direct.exists(cache.full_key("k"))  # stored on the master the sentinels name


@pytest.mark.chaos
@pytest.mark.parametrize("how", ["sentinel-failover", "kill-master"])
# redis-py drops the client objects of a dead node without closing their sockets (they
# point at a server that is gone); collected later, they warn. Not redmemo's connections.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_failover_under_load_gives_no_error_and_no_wrong_value(
    sentinels: Sentinels, how: str
) -> None:
    sentinels.wait_replica_synced()
    cache = redmemo.Cache(sentinels.url, namespace=f"failover-{how}")
    try:
        with Load(cache) as load:
            time.sleep(1.0)
            old = sentinels.master()
            started_at = time.monotonic()
            if how == "kill-master":
                sentinels.kill(old)
            else:
                sentinels.failover()
            sentinels.wait_master_changed(old.port)
            deadline = time.monotonic() + 60
            while load.resumed_after(started_at) is None and time.monotonic() < deadline:
                if not load.outages and time.monotonic() > deadline - 55:
                    break  # a planned failover may pass without one failed call
                time.sleep(0.05)
            resumed = load.resumed_after(started_at)
            hits_after = [at for at, _ in list(load.hits) if at > started_at]
        assert load.errors == []
        assert load.wrong == []
        assert hits_after, "no hit after the failover"
        if load.outages:
            assert resumed is not None, "no hit after the failover's outage"
            print(f"\n{how}: {load.calls} calls; hits resumed {resumed - started_at:.2f}s")
        else:
            print(f"\n{how}: {load.calls} calls; no call failed during the failover")
    finally:
        cache.close()
    if how == "kill-master":
        # Bring the old master back as a replica, for the tests after this one.
        from tests.support.servers import start_redis

        port = old.port
        old.stop()
        index = sentinels.data.index(old)
        sentinels.data[index] = start_redis(
            "--replicaof", "127.0.0.1", str(sentinels.master_port()), port=port
        )


def test_reads_from_replicas_go_to_the_replica(sentinels: Sentinels) -> None:
    sentinels.wait_replica_synced()
    url = sentinels.url + "?read_from_replicas=true"
    master = sentinels.master()
    replica = next(s for s in sentinels.data if s is not master and s.process.poll() is None)

    def gets(server: Any) -> int:
        with server.client() as client:
            stats = client.info("commandstats")
        return int(stats.get("cmdstat_get", {}).get("calls", 0))

    with redmemo.Cache(url, namespace="replica-reads") as cache:
        cache.set("k", "v")
        with master.client() as client:
            client.execute_command("WAIT", 1, 5000)  # the replica has it
        before_replica, before_master = gets(replica), gets(master)
        assert [cache.get("k") for _ in range(10)] == ["v"] * 10

        async def aread() -> list[Any]:
            return [await cache.aget("k") for _ in range(10)]

        assert asyncio.run(aread()) == ["v"] * 10
        assert gets(replica) - before_replica == 20
        assert gets(master) == before_master  # (INFO itself is not a GET)


def test_the_near_cache_follows_the_master_through_a_failover(sentinels: Sentinels) -> None:
    """Copies are dropped when another client changes them through the master; a failover
    flushes them and moves tracking to the new master, where changes are heard again."""
    flushed: list[str] = []

    def hook(event: Any) -> None:
        if isinstance(event, redmemo.events.NearFlushed):
            flushed.append(event.reason)

    namespace = "near-failover"
    reader = redmemo.Cache(sentinels.url, namespace=namespace, near=True, hooks=[hook])
    writer = redmemo.Cache(sentinels.url, namespace=namespace)
    try:
        assert reader.near is not None
        reader.get("warm-up")
        assert reader.near.connected.wait(10)

        def copied(key: str) -> Any:
            assert reader._near is not None
            assert reader._near.tracker.barrier().result(10)
            deadline = time.monotonic() + 10
            value = reader.get(key)
            while reader.full_key(key) not in reader.near:  # type: ignore[operator]
                assert time.monotonic() < deadline
                time.sleep(0.005)
                value = reader.get(key)
            return value

        writer.set("k", 1)
        assert copied("k") == 1
        writer.set("k", 2)
        assert _until(lambda: reader.get("k") == 2)
        sentinels.wait_replica_synced()
        old = sentinels.master_port()
        _until(lambda: _failover(sentinels), timeout=30)  # once the sentinels see the replica
        sentinels.wait_master_changed(old)
        assert _until(lambda: "connection" in flushed, timeout=30)
        assert _until(reader.near.connected.is_set, timeout=30)
        sentinels.wait_replica_synced()
        assert _until(lambda: _writes(writer, "k", 3), timeout=30)
        assert copied("k") == 3
        writer.set("k", 4)  # through the new master: heard by the new tracking connection
        assert _until(lambda: reader.get("k") == 4)
    finally:
        reader.close()
        writer.close()


def _until(condition: Any, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def _writes(cache: redmemo.Cache, key: str, value: Any) -> bool:
    try:
        cache.set(key, value)
    except redmemo.BackendError:
        return False  # the client still knows the old master for a moment
    return True


def _failover(sentinels: Sentinels) -> bool:
    try:
        sentinels.failover()
    except redis.ResponseError:  # NOGOODSLAVE: not yet seen by the sentinels as synced
        return False
    return True
