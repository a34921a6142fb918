"""Plugins: code that runs before and after each store-API command, and sees the events
of decorated functions.

A plugin is any object. For each command it cares about it defines
``pre_<command>(cache, *args, **kwargs)`` and/or
``post_<command>(cache, *args, took=seconds, ret=result, **kwargs)`` (arguments as the
caller passed them, key first), plain or ``async def``: the sync face runs a coroutine
to completion, the async face awaits it. ``on_event(event)`` receives the events of
decorated functions (see :mod:`redmemo.events`); ``wants_events`` narrows them.

A plugin that raises is logged (rate-limited) and never breaks the call. A cache with no
plugin, or none for a command, runs that command exactly as without this module.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, SupportsIndex

from ._log import warn_throttled
from .errors import ConfigurationError
from .events import Event, Hit, Miss, Stale

__all__ = [
    "COMMANDS",
    "BasePlugin",
    "HitMissRatioPlugin",
    "PluginList",
    "TimingPlugin",
    "resolve_plugin",
]

COMMANDS = (
    "get",
    "set",
    "add",
    "multi_get",
    "multi_set",
    "exists",
    "increment",
    "expire",
    "delete",
    "clear",
    "raw",
)


class BasePlugin:
    """A convenient base: every ``pre_`` / ``post_`` method, doing nothing. Subclasses
    override the ones they need (an undefined method costs nothing at all)."""


def resolve_plugin(spec: Any) -> Any:
    """A plugin object from a plugin, a dotted class path, or ``{"class": path, ...}``
    (the other items are the class's keyword arguments), as in a configuration."""
    if isinstance(spec, str):
        return _load(spec)()
    if isinstance(spec, Mapping):
        options = dict(spec)
        path = options.pop("class", None)
        if not isinstance(path, str):
            raise ConfigurationError(
                f"a plugin given as a mapping needs 'class': a dotted path; got {spec!r}"
            )
        return _load(path)(**options)
    return spec


def _load(path: str) -> Callable[..., Any]:
    module_name, _, name = path.rpartition(".")
    if not module_name:
        raise ConfigurationError(f"plugin {path!r} is not a dotted path (module.Class)")
    try:
        module = importlib.import_module(module_name)
        found: Callable[..., Any] = getattr(module, name)
    except (ImportError, AttributeError) as exc:
        raise ConfigurationError(f"cannot import plugin {path!r}: {exc}") from None
    return found


class PluginList(list[Any]):
    """``cache.plugins``: a list that re-wires the cache's commands when it changes."""

    def __init__(self, items: Iterable[Any], changed: Callable[[], None]) -> None:
        super().__init__(resolve_plugin(item) for item in items)
        self._changed = changed

    def append(self, item: Any) -> None:
        super().append(resolve_plugin(item))
        self._changed()

    def extend(self, items: Iterable[Any]) -> None:
        super().extend(resolve_plugin(item) for item in items)
        self._changed()

    def __iadd__(self, items: Iterable[Any]) -> PluginList:  # type: ignore[misc]
        # list's own += extends in C, past extend(): the commands would not be re-wired.
        self.extend(items)
        return self

    def insert(self, index: SupportsIndex, item: Any) -> None:
        super().insert(index, resolve_plugin(item))
        self._changed()

    def remove(self, item: Any) -> None:
        super().remove(item)
        self._changed()

    def pop(self, index: SupportsIndex = -1) -> Any:
        item = super().pop(index)
        self._changed()
        return item

    def clear(self) -> None:
        super().clear()
        self._changed()

    def __setitem__(self, index: Any, item: Any) -> None:
        super().__setitem__(index, item)
        self._changed()

    def __delitem__(self, index: Any) -> None:
        super().__delitem__(index)
        self._changed()


# -- calling plugins ------------------------------------------------------------------------

_local = threading.local()


async def _awaited(awaitable: Any) -> Any:
    return await awaitable


def _finish(result: Any) -> None:
    """Run an ``async def`` plugin method to completion from sync code."""
    if not inspect.isawaitable(result):
        return
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        loop = getattr(_local, "loop", None)
        if loop is None or loop.is_closed():
            loop = _local.loop = asyncio.new_event_loop()
        loop.run_until_complete(_awaited(result))
        return
    # A sync command called from inside a running loop: run it in a thread of its own.
    done: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(_awaited(result))
        except BaseException as exc:  # reported below, in the caller's thread
            done.append(exc)

    thread = threading.Thread(target=run, name="redmemo-plugin")
    thread.start()
    thread.join()
    if done:
        raise done[0]


def _failed(plugin: Any, method: str) -> None:
    warn_throttled(
        f"plugin-{type(plugin).__name__}-{method}",
        "redmemo: plugin %s.%s failed; the command went on",
        type(plugin).__name__,
        method,
        exc_info=True,
    )


def _methods(plugins: Iterable[Any], name: str) -> list[tuple[Any, Callable[..., Any]]]:
    found = []
    for plugin in plugins:
        method = getattr(plugin, name, None)
        if callable(method):
            found.append((plugin, method))
    return found


def sync_wrapper(
    cache: Any, command: str, method: Callable[..., Any], plugins: list[Any]
) -> Callable[..., Any] | None:
    """``method`` (a bound sync command) with its plugins around it; None if none cares."""
    pres = _methods(plugins, "pre_" + command)
    posts = _methods(plugins, "post_" + command)
    if not pres and not posts:
        return None

    def call(*args: Any, **kwargs: Any) -> Any:
        for plugin, pre in pres:
            try:
                _finish(pre(cache, *args, **kwargs))
            except Exception:
                _failed(plugin, "pre_" + command)
        start = time.perf_counter()
        result = method(*args, **kwargs)
        took = time.perf_counter() - start
        for plugin, post in posts:
            try:
                _finish(post(cache, *args, took=took, ret=result, **kwargs))
            except Exception:
                _failed(plugin, "post_" + command)
        return result

    call.__doc__ = method.__doc__
    call.__name__ = command
    return call


def async_wrapper(
    cache: Any, command: str, method: Callable[..., Any], plugins: list[Any]
) -> Callable[..., Any] | None:
    """The async twin of :func:`sync_wrapper` (``method`` is ``a<command>``)."""
    pres = _methods(plugins, "pre_" + command)
    posts = _methods(plugins, "post_" + command)
    if not pres and not posts:
        return None

    async def call(*args: Any, **kwargs: Any) -> Any:
        for plugin, pre in pres:
            try:
                result = pre(cache, *args, **kwargs)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                _failed(plugin, "pre_" + command)
        start = time.perf_counter()
        ret = await method(*args, **kwargs)
        took = time.perf_counter() - start
        for plugin, post in posts:
            try:
                result = post(cache, *args, took=took, ret=ret, **kwargs)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                _failed(plugin, "post_" + command)
        return ret

    call.__doc__ = method.__doc__
    call.__name__ = "a" + command
    return call


class EventAdapter:
    """A plugin's ``on_event`` as a hook (with the plugin's ``wants_events``, if any)."""

    def __init__(self, plugin: Any) -> None:
        self.plugin = plugin
        self._on_event = plugin.on_event
        wanted = getattr(plugin, "wants_events", None)
        if wanted is not None:
            self.wants_events = wanted

    def __call__(self, event: Event) -> None:
        try:
            _finish(self._on_event(event))
        except Exception:
            _failed(self.plugin, "on_event")


# -- built in -------------------------------------------------------------------------------


class HitMissRatioPlugin(BasePlugin):
    """``cache.hit_miss_ratio``: ``{"hits": int, "total": int, "hit_ratio": float}`` over
    ``get`` and ``multi_get`` (one per key) and the calls of decorated functions (a stale
    value served counts as a hit)."""

    wants_events = (Hit, Stale, Miss)

    def __init__(self) -> None:
        self._cache: Any = None

    def _count(self, cache: Any, hits: int, total: int) -> None:
        ratio = getattr(cache, "hit_miss_ratio", None)
        if ratio is None:
            ratio = cache.hit_miss_ratio = {"hits": 0, "total": 0, "hit_ratio": 0.0}
        ratio["hits"] += hits
        ratio["total"] += total
        ratio["hit_ratio"] = ratio["hits"] / ratio["total"] if ratio["total"] else 0.0

    def post_get(self, cache: Any, key: str, *args: Any, ret: Any = None, **kwargs: Any) -> None:
        default = args[0] if args else kwargs.get("default")
        self._count(cache, int(ret is not default), 1)

    def post_multi_get(
        self, cache: Any, keys: Any, *args: Any, ret: Any = None, **kwargs: Any
    ) -> None:
        values = list(ret or ())
        self._count(cache, sum(value is not None for value in values), len(values))

    def bind(self, cache: Any) -> None:
        """Told by the cache it is added to: decorated calls count there too."""
        self._cache = cache
        if getattr(cache, "hit_miss_ratio", None) is None:
            cache.hit_miss_ratio = {"hits": 0, "total": 0, "hit_ratio": 0.0}

    def on_event(self, event: Event) -> None:
        if self._cache is not None:
            self._count(self._cache, int(not isinstance(event, Miss)), 1)


class TimingPlugin(BasePlugin):
    """``cache.profiling``: ``<command>_min``, ``_max``, ``_avg`` (seconds) and ``_count``
    for every store-API command."""

    def _record(self, cache: Any, command: str, took: float) -> None:
        profiling = getattr(cache, "profiling", None)
        if profiling is None:
            profiling = cache.profiling = {}
        count = profiling.get(f"{command}_count", 0) + 1
        profiling[f"{command}_count"] = count
        profiling[f"{command}_min"] = min(profiling.get(f"{command}_min", took), took)
        profiling[f"{command}_max"] = max(profiling.get(f"{command}_max", took), took)
        average = profiling.get(f"{command}_avg", 0.0)
        profiling[f"{command}_avg"] = average + (took - average) / count


def _timing(command: str) -> Callable[..., None]:
    def post(self: TimingPlugin, cache: Any, *args: Any, took: float = 0.0, **kw: Any) -> None:
        self._record(cache, command, took)

    post.__name__ = "post_" + command
    return post


for _command in COMMANDS:
    setattr(TimingPlugin, "post_" + _command, _timing(_command))
