"""The queue of stale keys that background jobs refresh in batches."""

from __future__ import annotations

from typing import Any

from redmemo.coordination.refreshes import RefreshQueue


class Jobs:
    def __init__(self) -> None:
        self.spawned = 0
        self.alive = True

    def spawn(self) -> str:
        self.spawned += 1
        return f"job{self.spawned}"

    def running(self, job: Any) -> bool:
        return self.alive


def test_one_job_per_loop_takes_what_was_queued_until_nothing_is_left() -> None:
    queue, jobs = RefreshQueue(), Jobs()
    assert queue.add(1, ("a", (), {}), jobs.running, jobs.spawn) == "job1"
    assert queue.add(1, ("b", (), {}), jobs.running, jobs.spawn) == "job1"  # it runs
    assert queue.add(2, ("c", (), {}), jobs.running, jobs.spawn) == "job2"  # another loop
    assert [k for k, _, _ in queue.take(1)] == ["a", "b"]
    assert queue.take(1) == []  # the job ends here
    assert jobs.spawned == 2
    assert len(queue) == 1  # loop 2's key waits for its own job
    # After a take that found nothing, the next key needs (and gets) a new job.
    queue.add(1, ("d", (), {}), jobs.running, jobs.spawn)
    assert jobs.spawned == 3


def test_a_job_that_can_no_longer_run_is_replaced() -> None:
    queue, jobs = RefreshQueue(), Jobs()
    queue.add(1, ("a", (), {}), jobs.running, jobs.spawn)
    jobs.alive = False  # its event loop closed before it took anything
    assert queue.add(1, ("b", (), {}), jobs.running, jobs.spawn) == "job2"
    assert [k for k, _, _ in queue.take(1)] == ["a", "b"]  # nothing lost
