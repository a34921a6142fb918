"""What only a cluster does: nodes that redirect, masters that die and replicas that take
over, slots that move. On local clusters of real processes (3 masters, 3 replicas)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis

import redmemo
from redmemo.core.keyspace import hash_slot
from tests.support.cluster import LocalCluster, start_cluster
from tests.support.load import Load

pytestmark = [pytest.mark.redis, pytest.mark.cluster]


def test_a_standalone_url_at_a_cluster_node_says_to_use_the_cluster_scheme(
    redis_cluster: LocalCluster,
) -> None:
    node = redis_cluster.servers[0]
    with redmemo.Cache(f"redis://127.0.0.1:{node.port}/0", namespace="wrong") as cache:
        messages = []
        for i in range(20):  # some keys live on this node; most do not
            try:
                cache.set(f"k{i}", i)
            except redmemo.BackendError as exc:
                messages.append(str(exc))
        assert messages
        assert all("use a redis+cluster:// URL" in m for m in messages), messages[0]


def test_clear_and_patterns_reach_every_primary(cluster_url: str) -> None:
    with redmemo.Cache(cluster_url, namespace="spread") as cache:
        keys = [f"k{i}" for i in range(300)]
        cache.multi_set({k: k for k in keys})
        slots = {hash_slot(cache.full_key(k)) for k in keys}
        assert len(slots) > 100  # spread over the cluster
        assert cache.multi_get(keys) == keys
        assert cache.invalidate_pattern("k1*") == len([k for k in keys if k.startswith("k1")])
        assert cache.clear() == len([k for k in keys if not k.startswith("k1")])
        assert cache.multi_get(keys) == [None] * len(keys)


def test_a_notice_published_on_one_node_wakes_a_waiter_listening_on_another(
    cluster_url: str,
) -> None:
    # The listener subscribes on one node; the store script publishes on the key's
    # master. A waiter must be handed the result at once, not after its lease.
    holder = redmemo.Cache(cluster_url, namespace="notice")
    waiter = redmemo.Cache(cluster_url, namespace="notice")
    started, release = threading.Event(), threading.Event()

    def slow(x: int) -> str:
        started.set()
        release.wait(30)
        return f"computed {x}"

    first = holder(ttl=60, lease=60, name="load")(slow)
    second = waiter(ttl=60, lease=60, wait_timeout=60, name="load")(lambda x: "never")
    try:
        for x in range(6):  # keys on every master
            started.clear()
            release.clear()
            thread = threading.Thread(target=first, args=(x,))
            thread.start()
            assert started.wait(10)
            got: list[str] = []
            waiting = threading.Thread(target=lambda x=x, got=got: got.append(second(x)))
            waiting.start()
            deadline = time.monotonic() + 10
            while second.stats()["waits"] <= x and time.monotonic() < deadline:
                time.sleep(0.01)
            release.set()
            waiting.join(30)
            thread.join(30)
            assert got == [f"computed {x}"]
        stats = second.stats()
        assert stats["waits"] == 6
        assert stats["fills"] == 0  # every waiter was handed the holder's result
    finally:
        holder.close()
        waiter.close()


# -- failover ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def doomed_cluster() -> Iterator[LocalCluster]:
    """A cluster of its own: the tests below kill its masters."""
    cluster = start_cluster()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.mark.slow
@pytest.mark.chaos
# redis-py drops the client objects of a dead node without closing their sockets (they
# point at a server that is gone); collected later, they warn. Not redmemo's connections.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_master_killed_under_load_fails_over_with_no_error_and_no_wrong_value(
    doomed_cluster: LocalCluster,
) -> None:
    doomed_cluster.wait_ok()
    cache = redmemo.Cache(doomed_cluster.url, namespace="failover")
    try:
        with Load(cache) as load:
            time.sleep(1.0)
            victim = doomed_cluster.primary_of(load.value.key(1))
            lost = {
                k
                for i in range(60)
                for k in (load.value.key(i), load.avalue.key(i))
                if doomed_cluster.primary_of(k) is victim
            }
            assert lost
            killed_at = time.monotonic()
            doomed_cluster.kill(victim)
            doomed_cluster.wait_ok(timeout=60)  # a replica took over its slots
            settled = time.monotonic()
            deadline = settled + 60
            while load.resumed_after(settled, lost) is None and time.monotonic() < deadline:
                time.sleep(0.05)
            # The first hit on the dead master's keys once its replica serves them.
            resumed = load.resumed_after(settled, lost)
        assert load.errors == []
        assert load.wrong == []
        assert load.outages, "the kill went unnoticed: this did not test a failover"
        after = [(round(at - killed_at, 2), key in lost) for at, key in load.hits if at > settled]
        assert resumed is not None, (
            "no hit on the failed master's keys after the failover: "
            f"settled {settled - killed_at:.2f}s after the kill; outages at "
            f"{[round(at - killed_at, 2) for at in load.outages][-5:]}; "
            f"{len(after)} hits after it, {sum(1 for _, on in after if on)} on those keys; "
            f"{load.calls} calls"
        )
        print(
            f"\nfailover: {load.calls} calls; slots served again {settled - killed_at:.2f}s "
            f"after the kill, first hit on them {resumed - killed_at:.2f}s after it"
        )
    finally:
        cache.close()


@pytest.mark.slow
@pytest.mark.chaos
# redis-py drops the client objects of a dead node without closing their sockets (they
# point at a server that is gone); collected later, they warn. Not redmemo's connections.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_slot_moved_while_callers_run_loses_no_invalidation(
    doomed_cluster: LocalCluster,
) -> None:
    doomed_cluster.wait_ok(timeout=60)
    cache = redmemo.Cache(doomed_cluster.url, namespace="reshard")
    version = {"n": 0}

    @cache(ttl=600, name="item", tags=["items"])
    def item(i: int) -> str:
        return f"{i}@{version['n']}"

    try:
        keys = [item.key(i) for i in range(20)]
        for i in range(20):
            item(i)
        slot = hash_slot(keys[0])
        with doomed_cluster.cluster_client() as cluster:
            source = cluster.get_node_from_key(keys[0])
            alive = {server.port for server in doomed_cluster.alive()}
            target = next(
                n for n in cluster.get_primaries() if n.name != source.name and int(n.port) in alive
            )
        errors: list[BaseException] = []
        stop = threading.Event()

        def call() -> None:
            while not stop.is_set():
                try:
                    got = item(0)
                    if got.split("@")[0] != "0":
                        errors.append(AssertionError(got))
                except BaseException as exc:
                    errors.append(exc)

        callers = [threading.Thread(target=call) for _ in range(4)]
        for thread in callers:
            thread.start()
        try:
            _move_slot(slot, source, target)
            version["n"] = 1
            assert cache.invalidate_tags("items") >= 1
            time.sleep(0.5)
            assert item(0) == "0@1"  # the invalidation reached the slot where it is now
        finally:
            stop.set()
            for thread in callers:
                thread.join(30)
        assert errors == []
        with doomed_cluster.cluster_client() as cluster:
            assert cluster.get_node_from_key(keys[0]).name == target.name
    finally:
        cache.close()


def _move_slot(slot: int, source: Any, target: Any) -> None:
    """The steps of ``redis-cli --cluster reshard`` for one slot, by hand."""
    src = redis.Redis(host=source.host, port=source.port)
    dst = redis.Redis(host=target.host, port=target.port)
    try:
        src_id = src.execute_command("CLUSTER MYID")
        dst_id = dst.execute_command("CLUSTER MYID")
        dst.execute_command("CLUSTER SETSLOT", slot, "IMPORTING", src_id)
        src.execute_command("CLUSTER SETSLOT", slot, "MIGRATING", dst_id)
        while True:
            keys = src.execute_command("CLUSTER GETKEYSINSLOT", slot, 100)
            if not keys:
                break
            src.execute_command("MIGRATE", target.host, target.port, "", 0, 5000, "KEYS", *keys)
        for node in (dst, src):
            node.execute_command("CLUSTER SETSLOT", slot, "NODE", dst_id)
    finally:
        src.close()
        dst.close()


def test_a_burst_of_first_calls_on_a_new_client_is_served_without_backend_errors(
    cluster_url: str,
) -> None:
    # redis-py's asyncio cluster client, sent many first commands at once, closed
    # connections under other tasks; the backend lets it learn the slots first.
    failures: list[Any] = []
    cache = redmemo.Cache(cluster_url, namespace="burst")
    cache.add_hook(
        lambda event: failures.append(event) if "Failure" in type(event).__name__ else None
    )

    @cache(ttl=60, name="burst", tags=["all"])
    async def burst(i: int) -> int:
        return i

    async def run() -> list[int]:
        try:
            return await asyncio.gather(*(burst(i) for i in range(200)))
        finally:
            await cache.aclose()

    try:
        assert asyncio.run(run()) == list(range(200))
        assert failures == []
        assert burst.stats()["errors"] == 0
    finally:
        cache.close()


def test_a_miss_on_a_cluster_sends_no_command_getkeys(
    redis_cluster: LocalCluster, cluster_url: str
) -> None:
    # redis-py's cluster pipeline asked the server for the keys of each pipelined script
    # (one more round trip per script); the clients are given EVALSHA's routing instead.
    def getkeys() -> int:
        total = 0
        for server in redis_cluster.alive():
            with redis_cluster.client(server.port) as client:
                stats = client.info("commandstats")
            total += int(stats.get("cmdstat_command|getkeys", {}).get("calls", 0))
        return total

    cache = redmemo.Cache(cluster_url, namespace="getkeys")

    @cache(ttl=60, tags=["a", "b", "c"], name="sync_miss")
    def sync_miss(i: int) -> int:
        return i

    @cache(ttl=60, tags=["a", "b", "c"], name="async_miss")
    async def async_miss(i: int) -> int:
        return i

    async def run() -> None:
        try:
            for i in range(5):
                await async_miss(i)
        finally:
            await cache.aclose()

    try:
        sync_miss(-1)  # the client learns the cluster
        before = getkeys()
        for i in range(5):
            sync_miss(i)
        asyncio.run(run())
        assert getkeys() == before
        assert sync_miss.stats()["fills"] == 6
    finally:
        cache.close()
