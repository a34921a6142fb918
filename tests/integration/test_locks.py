"""Locks and optimistic locks, on every backend and face, and across processes."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import redmemo

ROOT = Path(__file__).resolve().parents[2]


def test_one_holder_at_a_time_with_growing_fencing_tokens(make_cache: Any) -> None:
    cache = make_cache()
    first = cache.lock("job", ttl=30)
    assert first.acquire()
    other = cache.lock("job", ttl=30, blocking=False)
    assert not other.acquire()
    with (
        pytest.raises(redmemo.LockTimeoutError, match="'job' was not acquired"),
        cache.lock("job", ttl=30, blocking_timeout=0.05),
    ):
        pass
    token = first.fencing_token
    first.release()
    assert not first.owned
    with cache.lock("job", ttl=30) as again:
        assert again.fencing_token is not None
        assert token is not None
        assert again.fencing_token > token
    with pytest.raises(redmemo.LockNotOwnedError):
        first.release()  # given back already


def test_a_lock_runs_out_and_is_not_released_by_its_old_holder(make_cache: Any) -> None:
    cache = make_cache()
    old = cache.lock("short", ttl=0.05)
    assert old.acquire()
    time.sleep(0.1)
    new = cache.lock("short", ttl=30)
    assert new.acquire(blocking=False)
    with pytest.raises(redmemo.LockNotOwnedError):
        old.extend()
    with pytest.raises(redmemo.LockNotOwnedError):
        old.release()
    assert not cache.lock("short", ttl=30).acquire(blocking=False)  # still the new one's
    new.extend(60)
    new.release()


def test_the_async_face(make_cache: Any, loop: Any) -> None:
    cache = make_cache()

    async def run() -> list[int]:
        tokens = []
        for _ in range(3):
            async with cache.lock("async-job", ttl=30) as lock:
                tokens.append(lock.fencing_token)
                assert not await cache.lock("async-job", ttl=30, blocking=False).aacquire()
                await lock.aextend()
        held = cache.lock("async-job", ttl=30)
        assert await held.aacquire()
        with pytest.raises(redmemo.LockTimeoutError):
            async with cache.lock("async-job", ttl=30, blocking_timeout=0.05):
                pass
        with pytest.raises(redmemo.LockTimeoutError):
            async with cache.lock("async-job", ttl=30, blocking_timeout=0):
                pass
        await held.arelease()
        return tokens

    try:
        tokens = loop.run_until_complete(run())
    finally:
        loop.run_until_complete(cache.aclose())
    assert tokens == sorted(tokens)
    assert len(set(tokens)) == 3


def test_clear_leaves_locks_and_their_counters(make_cache: Any) -> None:
    cache = make_cache()
    with cache.lock("kept", ttl=30) as lock:
        before = lock.fencing_token
        cache.set("k", 1)
        cache.clear()
        assert not cache.lock("kept", ttl=30).acquire(blocking=False)
    with cache.lock("kept", ttl=30) as lock:
        assert before is not None
        assert lock.fencing_token is not None
        assert lock.fencing_token > before


def test_optimistic_lock_writes_only_what_nobody_changed(store: Any) -> None:
    cache = store.cache
    store.set("stock", 10)
    if store.mode == "sync":
        with cache.optimistic_lock("stock") as lock:
            assert lock.value == 10
            lock.cas(lock.value - 1)
        with cache.optimistic_lock("stock") as lock:
            cache.set("stock", 100)  # someone else
            with pytest.raises(redmemo.OptimisticLockError, match="changed since it was read"):
                lock.cas(lock.value - 1)
        with cache.optimistic_lock("fresh") as lock:
            assert lock.value is None
            lock.cas("first")
    else:

        async def run() -> None:
            async with cache.optimistic_lock("stock") as lock:
                assert lock.value == 10
                await lock.acas(lock.value - 1)
            async with cache.optimistic_lock("stock") as lock:
                await cache.aset("stock", 100)
                with pytest.raises(redmemo.OptimisticLockError):
                    await lock.acas(lock.value - 1)
            async with cache.optimistic_lock("fresh") as lock:
                await lock.acas("first")

        store.loop.run_until_complete(run())
    assert store.get("stock") == 100
    assert store.get("fresh") == "first"


def _locker(url: str, namespace: str, rounds: int, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.support.locker", url, namespace, str(rounds), *extra],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
def test_four_processes_of_eight_threads_exclude_each_other(redis_or_cluster_url: str) -> None:
    from tests.support.servers import direct_client

    url = redis_or_cluster_url
    processes = [_locker(url, "locks", 10) for _ in range(4)]
    records: list[tuple[int, int]] = []
    for process in processes:
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
        records += [tuple(r) for r in json.loads(out.strip().splitlines()[-1])["records"]]
    with direct_client(url) as client:
        assert int(client.get("locks:counter")) == 4 * 8 * 10  # no lost update
    seen = [seen for seen, _ in sorted(records)]
    assert seen == list(range(320))  # each value of the counter seen by one holder
    tokens = [token for _, token in sorted(records)]
    assert all(a < b for a, b in itertools.pairwise(tokens))  # strictly growing


@pytest.mark.slow
def test_a_holder_killed_holding_the_lock_lets_others_in_after_its_ttl(redis_url: str) -> None:
    holder = _locker(redis_url, "killed", 1, "hold")
    try:
        assert holder.stdout is not None
        line = holder.stdout.readline()
        assert json.loads(line)["held"] >= 1
        with redmemo.Cache(redis_url, namespace="killed") as cache:
            assert not cache.lock("shared", ttl=5).acquire(blocking=False)
            holder.kill()
            holder.wait()
            with cache.lock("shared", ttl=5, blocking_timeout=10) as lock:
                assert lock.fencing_token is not None
                assert lock.fencing_token > json.loads(line)["held"]
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
        for stream in (holder.stdout, holder.stderr):
            if stream is not None:
                stream.close()
