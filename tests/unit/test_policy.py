"""The pure rules of freshness and early refresh, on plain numbers."""

from __future__ import annotations

import math
import random

import pytest

from redmemo.core.entry import Entry
from redmemo.core.policy import State, classify, early_beta


def entry(
    created: float = 0.0, refresh: float = 10.0, expire: float = 100.0, compute: float = 0.0
) -> Entry:
    return Entry("v", created, created + refresh, created + expire, compute)


@pytest.mark.parametrize(
    ("now", "state"),
    [
        (0.0, State.FRESH),
        (9.99, State.FRESH),
        (10.0, State.STALE),
        (99.9, State.STALE),
        (100.0, State.EXPIRED),
    ],
)
def test_the_two_ages(now: float, state: State) -> None:
    assert classify(entry(), now) is state


def test_no_ages_means_always_fresh() -> None:
    forever = Entry("v", 0.0, math.inf, math.inf, 1.0)
    assert classify(forever, 1e12) is State.FRESH
    assert classify(forever, 1e12, beta=1.0) is State.FRESH


def test_without_refresh_early_refresh_aims_at_the_expiry() -> None:
    no_refresh = Entry("v", 0.0, math.inf, 100.0, 5.0)
    assert classify(no_refresh, 99.0, beta=1.0, rand=lambda: 0.9) is State.STALE
    assert classify(no_refresh, 10.0, beta=1.0, rand=lambda: 0.9) is State.FRESH


def test_early_refresh_is_off_without_beta_or_compute_time() -> None:
    assert classify(entry(compute=5.0), 9.9, beta=0.0, rand=lambda: 0.999999) is State.FRESH
    assert classify(entry(compute=0.0), 9.9, beta=5.0, rand=lambda: 0.999999) is State.FRESH


def _early_share(now: float, compute: float, beta: float = 1.0, n: int = 4000) -> float:
    rng = random.Random(42)
    e = entry(compute=compute)
    return sum(classify(e, now, beta, rng.random) is State.STALE for _ in range(n)) / n


def test_early_refresh_grows_as_the_refresh_time_nears() -> None:
    shares = [_early_share(now, compute=1.0) for now in (2.0, 6.0, 8.0, 9.5)]
    assert shares == sorted(shares)
    assert shares[0] < 0.01
    assert shares[-1] > 0.5


def test_early_refresh_grows_with_the_compute_time_and_beta() -> None:
    assert (
        _early_share(8.0, compute=0.1)
        < _early_share(8.0, compute=1.0)
        < _early_share(8.0, compute=4.0)
    )
    assert _early_share(8.0, compute=1.0, beta=0.5) < _early_share(8.0, compute=1.0, beta=2.0)


def test_the_xfetch_probability_matches_its_formula() -> None:
    # P(stale) = P(-compute*beta*ln(1-u) >= gap) = exp(-gap / (compute*beta))
    share = _early_share(8.0, compute=1.0, n=20000)
    assert share == pytest.approx(math.exp(-2.0), abs=0.01)


@pytest.mark.parametrize(("early", "beta"), [(True, 1.0), (False, 0.0), (2.5, 2.5), (0, 0.0)])
def test_early_option(early: bool | float, beta: float) -> None:
    assert early_beta(early) == beta


@pytest.mark.parametrize("early", [-1, float("nan"), float("inf"), "yes"])
def test_bad_early_option(early: object) -> None:
    with pytest.raises(ValueError, match="early"):
        early_beta(early)  # type: ignore[arg-type]
