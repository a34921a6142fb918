"""The circuit breaker's rules, on a fake clock."""

from __future__ import annotations

import pytest

from redmemo.core.breaker import Breaker, BreakerState


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_it_opens_after_threshold_consecutive_failures() -> None:
    breaker = Breaker(threshold=3, reset_after=1.0, clock=Clock())
    assert [breaker.failed(), breaker.failed()] == [None, None]
    assert breaker.allow() is True
    assert breaker.failed() is BreakerState.OPEN
    assert breaker.allow() is False
    assert (breaker.opened, breaker.short_circuited) == (1, 1)


def test_a_success_resets_the_count() -> None:
    breaker = Breaker(threshold=2, clock=Clock())
    breaker.failed()
    assert breaker.succeeded() is None
    assert breaker.failed() is None  # 1 again, not 2
    assert breaker.state is BreakerState.CLOSED


def test_one_probe_after_reset_after_and_it_decides() -> None:
    clock = Clock()
    breaker = Breaker(threshold=1, reset_after=1.0, clock=clock)
    breaker.failed()
    clock.now += 0.9
    assert breaker.allow() is False
    clock.now += 0.2
    assert breaker.allow() is True  # the probe
    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.allow() is False  # only one
    assert breaker.failed() is None  # the probe failed: open again, no new opening
    assert breaker.state is BreakerState.OPEN
    clock.now += 1.0
    assert breaker.allow() is True
    assert breaker.succeeded() is BreakerState.CLOSED
    assert breaker.allow() is True
    assert breaker.opened == 1


def test_a_probe_that_never_reports_back_is_replaced() -> None:
    clock = Clock()
    breaker = Breaker(threshold=1, reset_after=1.0, clock=clock)
    breaker.failed()
    clock.now += 1.0
    assert breaker.allow() is True  # a probe, then cancelled: never reports
    clock.now += 1.0
    assert breaker.allow() is True  # another


def test_failures_of_calls_sent_before_it_opened_change_nothing() -> None:
    breaker = Breaker(threshold=1, clock=Clock())
    assert breaker.failed() is BreakerState.OPEN
    assert breaker.failed() is None
    assert breaker.opened == 1


@pytest.mark.parametrize(("threshold", "reset"), [(0, 1.0), (1, 0), (1.5, 1.0), (1, -1)])
def test_bad_settings_are_refused(threshold: object, reset: object) -> None:
    with pytest.raises(ValueError, match=r"threshold|reset_after"):
        Breaker(threshold=threshold, reset_after=reset)  # type: ignore[arg-type]
