"""Problems that recur on every call are logged once a minute, not once a call."""

from __future__ import annotations

import logging

import pytest

from redmemo._log import reset_throttle, warn_throttled
from redmemo.core.entry import EntryCodec
from redmemo.core.serializers import PickleSerializer


def test_a_recurring_problem_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    reset_throttle()
    codec = EntryCodec(PickleSerializer())
    with caplog.at_level(logging.WARNING, logger="redmemo"):
        for _ in range(1000):
            assert codec.decode(b"garbage") is None
    assert len(caplog.records) == 1
    assert "not a redmemo entry" in caplog.records[0].getMessage()


def test_different_problems_are_each_logged(caplog: pytest.LogCaptureFixture) -> None:
    reset_throttle()
    with caplog.at_level(logging.WARNING, logger="redmemo"):
        warn_throttled("a", "first %s", 1)
        warn_throttled("b", "second %s", 2)
        warn_throttled("a", "first again %s", 3)
    assert [r.getMessage() for r in caplog.records] == ["first 1", "second 2"]
