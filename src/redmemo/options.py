"""The decorator's options, checked once when a function is decorated."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .durations import Duration, to_seconds_or_none
from .errors import ConfigurationError
from .policy import early_beta
from .serializers import SerializerSpec

__all__ = ["Options"]

DEFAULT_LEASE = 30.0
# The options a node's Meta can default (see nodes.py); tags are the node's own.
NODE_DEFAULTS = frozenset({"ttl", "refresh", "stale_if_error", "early", "lease", "wait_timeout"})


@dataclass(frozen=True)
class Options:
    ttl: float | None
    refresh: float | None
    stale_if_error: float | None
    beta: float
    lease: float
    wait_timeout: float
    wait: bool
    default: Any
    skip: bool | Callable[[inspect.BoundArguments], bool]
    unless: Callable[[Any], bool] | None
    ignore: tuple[str, ...]
    version: int | str | None
    serializer: SerializerSpec | None
    key: str | Callable[[Any], str] | None = None
    node: Any = None
    tags: Any = ()
    depends_on: Any = ()
    on_hit: Callable[[str, Any, Any], None] | None = None
    on_miss: Callable[[str, Any], None] | None = None
    explicit: frozenset[str] = frozenset()

    @classmethod
    def build(
        cls,
        *,
        ttl: Duration | None,
        refresh: Duration | None,
        stale_if_error: Duration | None,
        early: bool | float,
        lease: Duration | None,
        wait_timeout: Duration | None,
        wait: bool,
        default: Any,
        skip: bool | Callable[[inspect.BoundArguments], bool],
        unless: Callable[[Any], bool] | None,
        ignore: Iterable[str],
        version: int | str | None,
        serializer: SerializerSpec | None,
        cache_ttl: float | None,
        key: str | Callable[[Any], str] | None = None,
        node: Any = None,
        tags: Any = (),
        depends_on: Any = (),
        on_hit: Callable[[str, Any, Any], None] | None = None,
        on_miss: Callable[[str, Any], None] | None = None,
        explicit: frozenset[str] = frozenset(),
    ) -> Options:
        ttl_s = to_seconds_or_none(ttl, name="ttl")
        if ttl_s is None:
            ttl_s = cache_ttl
        refresh_s = to_seconds_or_none(refresh, name="refresh")
        if refresh_s is not None and ttl_s is not None and refresh_s >= ttl_s:
            raise ConfigurationError(
                f"refresh ({refresh_s:g}s) must be shorter than ttl ({ttl_s:g}s): after refresh "
                "a value is recomputed in the background, after ttl it is never served"
            )
        try:
            beta = early_beta(early)
        except ValueError as exc:
            raise ConfigurationError(str(exc)) from None
        # The seed's `retry`: how long one computation may hold the key before others may
        # take over. Without a value: the refresh age, else 30 s.
        lease_s = to_seconds_or_none(lease, name="lease") or refresh_s or DEFAULT_LEASE
        wait_s = to_seconds_or_none(wait_timeout, name="wait_timeout") or lease_s
        if not isinstance(wait, bool):
            raise ConfigurationError(f"wait must be True or False, got {wait!r}")
        if not isinstance(skip, bool) and not callable(skip):
            raise ConfigurationError("skip must be a bool or a callable on the bound arguments")
        if unless is not None and not callable(unless):
            raise ConfigurationError("unless must be a callable on the result, or None")
        if isinstance(ignore, str):
            ignore = (ignore,)
        if version is not None and (
            not isinstance(version, (int, str)) or isinstance(version, bool)
        ):
            raise ConfigurationError(f"version must be an int or a str, got {version!r}")
        if key is not None and node is not None:
            raise ConfigurationError("give key= or node=, not both: a node makes the key")
        for name, hook in (("on_hit", on_hit), ("on_miss", on_miss)):
            if hook is not None and not callable(hook):
                raise ConfigurationError(f"{name} must be a callable")
        if isinstance(tags, str) or isinstance(depends_on, str):
            raise ConfigurationError(
                "tags and depends_on take a list of templates (or a callable), not one str"
            )
        return cls(
            ttl=ttl_s,
            refresh=refresh_s,
            stale_if_error=to_seconds_or_none(stale_if_error, name="stale_if_error"),
            beta=beta,
            lease=lease_s,
            wait_timeout=wait_s,
            wait=wait,
            default=default,
            skip=skip,
            unless=unless,
            ignore=tuple(ignore),
            version=version,
            serializer=serializer,
            key=key,
            node=node,
            tags=tags,
            depends_on=depends_on,
            on_hit=on_hit,
            on_miss=on_miss,
            explicit=explicit,
        )

    @property
    def backend_ttl_ms(self) -> int | None:
        """How long the backend keeps an entry: ttl, plus the stale-if-error grace."""
        if self.ttl is None:
            return None
        return max(1, round((self.ttl + (self.stale_if_error or 0.0)) * 1000))

    @property
    def lease_ms(self) -> int:
        return max(1, round(self.lease * 1000))
