"""The decorator's options, declared once: each field of :class:`Options` is one option,
with its default, its check and whether a node's ``Meta`` may default it.

The decorator's typed signature (``decorator.py``) lists the same names for type checkers;
a test holds the two together, and node ``Meta`` options derive from here.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .core.durations import Forever, to_seconds_or_none
from .core.policies import Policy, resolve_policy
from .core.policy import early_beta
from .errors import ConfigurationError

__all__ = ["DEFAULT_LEASE", "NODE_DEFAULTS", "OPTION_NAMES", "Options"]

DEFAULT_LEASE = 30.0

Check = Callable[[Any], Any]


def _option(default: Any, check: Check, *, node: bool = False) -> Any:
    return field(default=default, metadata={"check": check, "node": node})


def _seconds(name: str) -> Check:
    return lambda value: to_seconds_or_none(value, name=name)


def _lease(value: Any) -> float | bool | None:
    """A duration, or False: no lease at all (see Options.leased)."""
    if value is False:
        return False
    return to_seconds_or_none(value, name="lease")


def _bool(name: str) -> Check:
    def check(value: Any) -> bool:
        if not isinstance(value, bool):
            raise ConfigurationError(f"{name} must be True or False, got {value!r}")
        return value

    return check


def _bool_or_none(name: str) -> Check:
    check_bool = _bool(name)
    return lambda value: None if value is None else check_bool(value)


def _callable_or_none(name: str, what: str) -> Check:
    def check(value: Any) -> Any:
        if value is not None and not callable(value):
            raise ConfigurationError(f"{name} must be {what}, or None")
        return value

    return check


def _early(value: Any) -> float:
    try:
        return early_beta(value)
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from None


def _skip(value: Any) -> Any:
    if not isinstance(value, bool) and not callable(value):
        raise ConfigurationError("skip must be a bool or a callable on the bound arguments")
    return value


def _ignore(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    return tuple(value)


def _version(value: Any) -> Any:
    if value is not None and (not isinstance(value, (int, str)) or isinstance(value, bool)):
        raise ConfigurationError(f"version must be an int or a str, got {value!r}")
    return value


def _name(value: Any) -> str | None:
    if value is not None and (not isinstance(value, str) or not value or "{" in value):
        raise ConfigurationError(f"name must be a non-empty str without braces, got {value!r}")
    return value


def _templates(name: str) -> Check:
    def check(value: Any) -> Any:
        if isinstance(value, str):
            raise ConfigurationError(
                f"{name} takes a list of templates (or a callable), not one str"
            )
        return value

    return check


def _any(value: Any) -> Any:
    return value


def check_maxsize(value: Any) -> int | None:
    if value is not None and (type(value) is not int or value < 1):
        raise ConfigurationError(
            f"maxsize must be a positive int (the most entries to keep), got {value!r}"
        )
    return value


def check_policy(value: Any) -> Policy | None:
    return None if value is None else resolve_policy(value)


@dataclass(frozen=True)
class Options:
    """Every option of ``@cache(...)``, checked and converted when decorating."""

    # Never serve a value older than this (the cache's ``ttl`` if not given).
    ttl: float | None = _option(None, _seconds("ttl"), node=True)
    # Past this age, serve the value but recompute it once in the background.
    refresh: float | None = _option(None, _seconds("refresh"), node=True)
    # When recomputing fails, serve the last value this much longer.
    stale_if_error: float | None = _option(None, _seconds("stale_if_error"), node=True)
    # Refresh hot keys early (XFetch); stored as its beta (True: 1.0, False: 0).
    early: float = _option(False, _early, node=True)
    # How long one computation may hold a key before others take over (rediscache's
    # `retry`); default: refresh, else 30 s. False: no lease (see `leased`).
    lease: float = _option(None, _lease, node=True)
    # How long callers wait for another's computation; default: the lease.
    wait_timeout: float = _option(None, _seconds("wait_timeout"), node=True)
    # False: a miss returns `default` at once and fills in the background.
    wait: bool = _option(True, _bool("wait"))
    default: Any = _option(None, _any)
    # Bypass the cache: a bool, or a callable on the bound arguments.
    skip: bool | Callable[[inspect.BoundArguments], bool] = _option(False, _skip)
    # A callable on the result; when true, the result is not stored.
    unless: Callable[[Any], bool] | None = _option(
        None, _callable_or_none("unless", "a callable on the result")
    )
    # Parameters left out of the key.
    ignore: tuple[str, ...] = _option((), _ignore)
    # Moves every key of the function at once.
    version: int | str | None = _option(None, _version)
    # The function's name in keys, instead of module.qualname (see core/identity.py).
    name: str | None = _option(None, _name)
    serializer: Any = _option(None, _any)
    # A template ("user:{user_id}") or a callable on the arguments giving the key.
    key: str | Callable[[Any], str] | None = _option(None, _any)
    # A Node class (or a callable returning a Node) that makes the key.
    node: Any = _option(None, _any)
    # Templates (or a callable) of the tags and keys the entry is invalidated with.
    tags: Any = _option((), _templates("tags"))
    depends_on: Any = _option((), _templates("depends_on"))
    # At most this many entries for the function, evicted by `policy` (the cache's
    # maxsize, shared by its unbounded functions, if not given); None: unbounded.
    maxsize: int | None = _option(None, check_maxsize)
    # An eviction policy by name (core/policies.py) or a Policy; default "lru".
    policy: Policy | None = _option(None, check_policy)
    # False: this function's results are never copied into the cache's near cache.
    near: bool = _option(True, _bool("near"))
    # True: an index of the function's entries in Redis, so that invalidate_all and
    # cache_info need no SCAN (about 100 B per entry and one more script per miss);
    # None: only when the keys are the user's (key=, node=), which a SCAN cannot tell.
    index: bool | None = _option(None, _bool_or_none("index"))
    on_hit: Callable[[str, Any, Any], None] | None = _option(
        None, _callable_or_none("on_hit", "a callable")
    )
    on_miss: Callable[[str, Any], None] | None = _option(
        None, _callable_or_none("on_miss", "a callable")
    )
    # The node-defaultable options the decorator gave itself (a node's Meta gives the rest).
    explicit: frozenset[str] = field(default=frozenset(), metadata={"internal": True})
    # lease=False: a miss is a GET, the call and a SET, with no lease across processes:
    # no waiting for another process's computation, and no fence against an
    # invalidation that lands while the call runs (documented in the guide).
    leased: bool = field(default=True, metadata={"internal": True})

    @classmethod
    def build(cls, raw: Mapping[str, Any], cache_ttl: float | None = None) -> Options:
        """Check ``raw`` (option name -> value as given) and convert it."""
        unknown = set(raw) - OPTION_NAMES
        if unknown:
            raise ConfigurationError(
                f"unknown option(s) {sorted(unknown)} for @cache; "
                f"the options are {sorted(OPTION_NAMES)}"
            )
        values: dict[str, Any] = {}
        for spec in _SPECS:
            values[spec.name] = spec.metadata["check"](raw.get(spec.name, spec.default))
        if values["ttl"] is None and not isinstance(raw.get("ttl"), Forever):
            values["ttl"] = cache_ttl  # FOREVER: no expiry, whatever the cache's default
        ttl, refresh = values["ttl"], values["refresh"]
        if refresh is not None and ttl is not None and refresh >= ttl:
            raise ConfigurationError(
                f"refresh ({refresh:g}s) must be shorter than ttl ({ttl:g}s): after refresh "
                "a value is recomputed in the background, after ttl it is never served"
            )
        leased = values["lease"] is not False
        values["lease"] = values["lease"] or refresh or DEFAULT_LEASE
        values["wait_timeout"] = values["wait_timeout"] or values["lease"]
        if values["key"] is not None and values["node"] is not None:
            raise ConfigurationError("give key= or node=, not both: a node makes the key")
        explicit = frozenset(
            name
            for name in NODE_DEFAULTS
            if raw.get(name) is not None and raw.get(name) is not False
        )
        return cls(**values, explicit=explicit, leased=leased)

    @property
    def beta(self) -> float:
        """The XFetch beta of early refresh (0: off)."""
        return self.early

    @functools.cached_property  # read on every miss; the options never change
    def backend_ttl_ms(self) -> int | None:
        """How long the backend keeps an entry: ttl, plus the stale-if-error grace."""
        if self.ttl is None:
            return None
        return max(1, round((self.ttl + (self.stale_if_error or 0.0)) * 1000))

    @functools.cached_property
    def lease_ms(self) -> int:
        return max(1, round(self.lease * 1000))


_SPECS = tuple(f for f in dataclasses.fields(Options) if not f.metadata.get("internal"))
OPTION_NAMES = frozenset(f.name for f in _SPECS)
# The options a node's Meta can default (see keydesign/nodes.py).
NODE_DEFAULTS = frozenset(f.name for f in _SPECS if f.metadata["node"])


def option_defaults() -> dict[str, Any]:
    """Each option's default as the decorator's signature must show it."""
    return {f.name: f.default for f in _SPECS}
