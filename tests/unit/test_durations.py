from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from redmemo.core.durations import to_seconds, to_seconds_or_none
from redmemo.errors import InvalidTTLError


@pytest.mark.parametrize(
    ("given", "seconds"),
    [
        (90, 90.0),
        (1.5, 1.5),
        (timedelta(minutes=2), 120.0),
        ("90", 90.0),
        ("2.5", 2.5),
        ("90s", 90.0),
        ("10m", 600.0),
        ("1h30m", 5400.0),
        ("1h 30m", 5400.0),
        ("500ms", 0.5),
        ("2d", 172800.0),
        ("1w", 604800.0),
        ("1.5h", 5400.0),
        (" 3M ", 180.0),
    ],
)
def test_accepted_forms(given: Any, seconds: float) -> None:
    assert to_seconds(given) == pytest.approx(seconds)


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (-1, "positive"),
        (0, "positive"),
        ("0s", "positive"),
        (timedelta(seconds=-3), "positive"),
        (float("inf"), "positive"),
        (float("nan"), "positive"),
        ("", "not a time span"),
        ("10x", "not a time span"),
        ("m10", "not a time span"),
        ("1h-30m", "not a time span"),
        (True, "not a bool"),
        (None, "not NoneType"),
        ([1], "not list"),
    ],
)
def test_refused_forms_say_what_is_wrong(given: Any, message: str) -> None:
    with pytest.raises(InvalidTTLError, match=message):
        to_seconds(given)


def test_the_error_names_the_parameter() -> None:
    with pytest.raises(InvalidTTLError, match="refresh"):
        to_seconds("soon", name="refresh")


def test_none_means_no_limit_where_allowed() -> None:
    assert to_seconds_or_none(None) is None
    assert to_seconds_or_none("1m") == 60.0
