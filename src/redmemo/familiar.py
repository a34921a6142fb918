"""The names other libraries' users know, on every Cache (see docs/coming-from.md).

- rediscache: ``cache.cache_json(refresh, expire)`` / ``cache_json_wait`` /
  ``cache_raw`` / ``cache_raw_wait`` decorators, and ``cache.get_stats(delete=False)``
  with its counter names;
- cacheme: ``cache.tags["cats"].invalidate()``, a tag as an object.

Each is a thin spelling of redmemo's own options; nothing here changes what they do.
"""

from __future__ import annotations

from typing import Any

from .core.durations import Duration
from .core.serializers import RawSerializer
from .decorator import Decorator, DecoratorMixin
from .observe.stats import merge

__all__ = ["FamiliarMixin", "Tag", "Tags", "rediscache_counts"]


def rediscache_counts(counts: dict[str, int]) -> dict[str, int]:
    """redmemo's counters under rediscache's names.

    ``Refresh``: calls of the function (fills, results not stored because an
    invalidation overtook them, failures). ``Wait``: callers that waited for a value (a
    miss answered by a computation, theirs or another's, not by the default).
    ``Failed``: failures. ``Missed``: misses. ``Success``: values served (fresh or
    stale). ``Default``: misses answered by the default (``wait=False``).
    """
    return {
        "Refresh": counts["fills"] + counts["overtaken"] + counts["failures"],
        "Wait": max(0, counts["misses"] - counts["defaults"]),
        "Failed": counts["failures"],
        "Missed": counts["misses"],
        "Success": counts["hits"] + counts["stale"],
        "Default": counts["defaults"],
    }


class Tag:
    """One tag of a cache: ``cache.tags["users"].invalidate()`` (cacheme's tag objects)."""

    def __init__(self, cache: Any, name: str) -> None:
        if not isinstance(name, str) or not name:
            raise TypeError(f"tags are non-empty str values, got {name!r}")
        self.cache = cache
        self.name = name

    def invalidate(self) -> int:
        """Invalidate every entry carrying this tag, in every process."""
        count: int = self.cache.invalidate_tags(self.name)
        return count

    async def ainvalidate(self) -> int:
        count: int = await self.cache.ainvalidate_tags(self.name)
        return count

    def __repr__(self) -> str:
        return f"<Tag {self.name!r} of {self.cache!r}>"


class Tags:
    """``cache.tags``: any tag by name (tags need no declaration)."""

    def __init__(self, cache: Any) -> None:
        self.cache = cache

    def __getitem__(self, name: str) -> Tag:
        return Tag(self.cache, name)


class FamiliarMixin(DecoratorMixin):
    # -- rediscache -------------------------------------------------------------------------

    def cache_json(
        self,
        refresh: Duration,
        expire: Duration,
        *,
        retry: Duration | None = None,
        default: Any = "",
        wait: bool = False,
        **options: Any,
    ) -> Decorator:
        """rediscache's ``cache_json``: JSON values, refreshed after ``refresh``, kept
        until ``expire``; by default a miss returns ``default`` at once and computes behind
        (``wait=False``). ``retry``: how long one refresh may run before another caller
        tries (the ``lease``; ``refresh`` when not given)."""
        return self._familiar("json", refresh, expire, retry, default, wait, options)

    def cache_json_wait(
        self,
        refresh: Duration,
        expire: Duration,
        *,
        retry: Duration | None = None,
        **options: Any,
    ) -> Decorator:
        """``cache_json`` that waits for the value on a miss."""
        return self._familiar("json", refresh, expire, retry, None, True, options)

    def cache_raw(
        self,
        refresh: Duration,
        expire: Duration,
        *,
        retry: Duration | None = None,
        default: Any = "",
        wait: bool = False,
        decode: bool = True,
        **options: Any,
    ) -> Decorator:
        """rediscache's ``cache_raw``: values of type bytes, str, int or float stored as
        plain bytes, read back as ``str`` (``decode=False``: as ``bytes``), as rediscache
        with its default ``decode=True`` returns them."""
        serializer = RawSerializer(decode=decode)
        return self._familiar(serializer, refresh, expire, retry, default, wait, options)

    def cache_raw_wait(
        self,
        refresh: Duration,
        expire: Duration,
        *,
        retry: Duration | None = None,
        decode: bool = True,
        **options: Any,
    ) -> Decorator:
        """``cache_raw`` that waits for the value on a miss."""
        serializer = RawSerializer(decode=decode)
        return self._familiar(serializer, refresh, expire, retry, None, True, options)

    def _familiar(
        self,
        serializer: Any,
        refresh: Duration,
        expire: Duration,
        retry: Duration | None,
        default: Any,
        wait: bool,
        options: dict[str, Any],
    ) -> Decorator:
        options.update(serializer=serializer, refresh=refresh, ttl=expire, wait=wait)
        options["lease"] = refresh if retry is None else retry
        if not wait:
            options["default"] = default
        decorator: Decorator = self(**options)
        return decorator

    def get_stats(self, delete: bool = False) -> dict[str, int]:
        """rediscache's ``get_stats``: this cache's counters under rediscache's names
        (see :func:`rediscache_counts`), summed over its functions, and over every
        process when ``share_stats`` is on (as rediscache keeps them in Redis).
        ``delete=True`` resets them after reading."""
        counts = self._shared_counts(delete)
        if counts is None:
            counts = merge(fn.stats(delete) for fn in list(self._functions))
        return rediscache_counts(counts)

    def _shared_counts(self, delete: bool) -> dict[str, int] | None:
        """Counters summed across processes, or None where they are not shared."""
        return None

    # -- cacheme ----------------------------------------------------------------------------

    @property
    def tags(self) -> Tags:
        """Any tag as an object: ``cache.tags["users"].invalidate()``."""
        return Tags(self)
