"""Statistics summed across processes through Redis."""

from __future__ import annotations

import pytest

import redmemo


def work(x: int) -> int:
    return x * 2


@pytest.mark.redis
def test_counts_of_several_processes_add_up_in_redis(redis_url: str) -> None:
    # Two Cache objects share nothing in process: on one Redis they act as two processes.
    with (
        redmemo.Cache(redis_url, namespace="st", share_stats="1h") as one,
        redmemo.Cache(redis_url, namespace="st", share_stats="1h") as two,
    ):
        f1 = one(ttl=60)(work)
        f2 = two(ttl=60)(work)
        f1(1)
        f1(1)
        f2(1)
        f2(2)
        one.flush_stats()
        two.flush_stats()
        one.flush_stats()  # a second flush adds only what is new: nothing
        totals = one.shared_stats()[f"{__name__}.work"]
        assert totals["hits"] == 2
        assert totals["misses"] == 2
        assert totals["fills"] == 2
        f2(2)
    # close() flushed the last hit
    with redmemo.Cache(redis_url, namespace="st") as reader:
        assert reader.shared_stats()[f"{__name__}.work"]["hits"] == 3


def test_on_memory_the_shared_counts_are_the_process_counts() -> None:
    cache = redmemo.Cache("memory://", namespace="mem-stats")
    fn = cache(ttl=60)(work)
    fn(3)
    fn(3)
    assert cache.shared_stats() == {f"{__name__}.work": fn.stats()}
