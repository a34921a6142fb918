"""Parsing of time spans: ``90``, ``1.5``, ``timedelta(minutes=2)``, ``"90s"``, ``"1h30m"``."""

from __future__ import annotations

import re
from datetime import timedelta

from ..errors import InvalidTTLError

__all__ = [
    "FOREVER",
    "MAX_SECONDS",
    "Duration",
    "Forever",
    "expires_now",
    "to_seconds",
    "to_seconds_or_none",
]


class Forever:
    """The type of :data:`FOREVER`: "never expire", even where a default TTL applies."""

    _instance: Forever | None = None

    def __new__(cls) -> Forever:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "redmemo.FOREVER"

    def __reduce__(self) -> str:
        return "FOREVER"


FOREVER = Forever()


def expires_now(ttl: object) -> bool:
    """Django's convention for the store API: a TTL of 0 or less means "expire now"."""
    return isinstance(ttl, (int, float)) and not isinstance(ttl, bool) and ttl <= 0


MAX_SECONDS = 100 * 365.25 * 86400.0

Duration = int | float | timedelta | str | Forever

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
# One or more "<number><unit>" parts, largest units first by convention (not enforced).
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
_WHOLE = re.compile(r"(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w))+")


def to_seconds(value: Duration, *, name: str = "ttl") -> float:
    """Return ``value`` as a positive number of seconds, or raise :class:`InvalidTTLError`.

    ``name`` is the parameter being parsed, so the error says which one was wrong.
    """
    if isinstance(value, Forever):
        raise InvalidTTLError(f"{name} cannot be FOREVER here: give no {name} for no expiry")
    if isinstance(value, bool):
        # bool is an int subclass: True would silently mean one second.
        raise InvalidTTLError(
            f"{name} must be seconds, a timedelta or a string like '90s', not a bool"
        )
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, str):
        seconds = _parse_text(value, name)
    else:
        raise InvalidTTLError(
            f"{name} must be seconds (int or float), a timedelta or a string like '10m' or "
            f"'1h30m', not {type(value).__name__}"
        )
    if not seconds > 0 or seconds == float("inf"):
        raise InvalidTTLError(f"{name} must be a positive, finite time span, got {value!r}")
    if seconds > MAX_SECONDS:
        # Redis takes at most about 292 million years, and the entry envelope keeps ages
        # in 32-bit floats; past a century neither would mean what was asked.
        raise InvalidTTLError(
            f"{name} must be at most 100 years ({MAX_SECONDS:g} s), got {value!r}; for "
            "no expiry at all, give no ttl"
        )
    return seconds


def to_seconds_or_none(value: Duration | None, *, name: str = "ttl") -> float | None:
    """Like :func:`to_seconds`, with ``None`` (and ``FOREVER``) meaning "no limit"."""
    return None if value is None or isinstance(value, Forever) else to_seconds(value, name=name)


def _parse_text(text: str, name: str) -> float:
    compact = text.strip().lower().replace(" ", "")
    try:
        return float(compact)  # "90" or "1.5" read as seconds
    except ValueError:
        pass
    if not compact or not _WHOLE.fullmatch(compact):
        raise InvalidTTLError(
            f"{name}={text!r} is not a time span: use a number of seconds or parts such as "
            "'500ms', '90s', '10m', '1h30m', '2d', '1w'"
        )
    return sum(float(number) * _UNITS[unit] for number, unit in _PART.findall(compact))
