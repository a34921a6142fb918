"""Named cache configurations, as Django's ``CACHES`` setting.

redmemo.caches.configure({
    "default": {"url": "redis://localhost:6379/0", "serializer": "json"},
    "local": {"url": "memory://?maxsize=10000", "namespace": "local"},
})
redmemo.caches["default"]          # one shared instance per name, built on first use
redmemo.caches.create("local", namespace="other")   # a new instance every time
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Iterator, Mapping
from typing import Any

from .cache import Cache
from .config import redact
from .errors import ConfigurationError
from .keydesign.nodes import set_alias_resolver

__all__ = ["CacheRegistry", "caches"]

_OPTIONS = frozenset(inspect.signature(Cache.__init__).parameters) - {"self"}


def _copied(value: Any) -> Any:
    """Containers copied all the way down (changing a returned configuration must not
    change the registry's); other objects (hooks, plugins, clocks) are shared as they are."""
    if isinstance(value, Mapping):
        return {k: _copied(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return type(value)(_copied(v) for v in value)
    return value


def _public(options: Mapping[str, Any]) -> dict[str, Any]:
    shown: dict[str, Any] = _copied(options)
    for name in ("password", "secret", "ssl_password"):
        if shown.get(name) is not None:
            shown[name] = "***"
    if isinstance(shown.get("url"), str):
        shown["url"] = redact(shown["url"])
    return shown


class CacheRegistry(Mapping[str, Cache]):
    """Cache instances by alias; ``"default"`` exists even before ``configure``."""

    def __init__(self) -> None:
        self._config: dict[str, dict[str, Any]] = {"default": {}}
        self._instances: dict[str, Cache] = {}
        self._lock = threading.Lock()

    def configure(self, config: Mapping[str, Mapping[str, Any]]) -> None:
        """Replace every alias. Instances built before are no longer handed out (nor closed)."""
        checked: dict[str, dict[str, Any]] = {}
        for alias, options in config.items():
            if not isinstance(alias, str) or not isinstance(options, Mapping):
                raise ConfigurationError("configure takes {alias: {option: value}} mappings")
            unknown = set(options) - _OPTIONS
            if unknown:
                raise ConfigurationError(
                    f"unknown option(s) {sorted(unknown)} for cache {alias!r}; "
                    f"Cache takes {sorted(_OPTIONS)}"
                )
            checked[alias] = dict(options)
        with self._lock:
            self._config = checked
            self._instances = {}

    def config(self, alias: str | None = None) -> dict[str, Any]:
        """A copy of the configuration of ``alias``, or of all aliases, without secrets
        (passwords and signing secrets read ``***``)."""
        with self._lock:
            if alias is None:
                return {name: _public(opts) for name, opts in self._config.items()}
            return _public(self._options(alias))

    def _options(self, alias: str) -> dict[str, Any]:
        try:
            return self._config[alias]
        except KeyError:
            known = ", ".join(repr(a) for a in self._config) or "none"
            raise ConfigurationError(f"no cache named {alias!r}; configured: {known}") from None

    def __getitem__(self, alias: str) -> Cache:
        with self._lock:
            cache = self._instances.get(alias)
            if cache is None:
                cache = Cache(**self._options(alias))
                self._instances[alias] = cache
            return cache

    def get_cache(self, alias: str = "default") -> Cache:
        """The shared instance for ``alias`` (same as ``caches[alias]``)."""
        return self[alias]

    def create(self, alias: str = "default", **overrides: Any) -> Cache:
        """A new instance from ``alias``'s configuration, with ``overrides`` applied."""
        unknown = set(overrides) - _OPTIONS
        if unknown:
            raise ConfigurationError(f"unknown option(s) {sorted(unknown)} for Cache")
        with self._lock:
            options = {**self._options(alias), **overrides}
        return Cache(**options)

    def __iter__(self) -> Iterator[str]:
        with self._lock:
            return iter(list(self._config))

    def __len__(self) -> int:
        return len(self._config)

    def close_all(self) -> None:
        """Close the sync connections of every instance handed out."""
        with self._lock:
            instances = list(self._instances.values())
        for cache in instances:
            cache.close()


caches = CacheRegistry()
# Node classes name their cache by alias (Meta.cache = "name"); they find it here.
set_alias_resolver(caches.__getitem__)
