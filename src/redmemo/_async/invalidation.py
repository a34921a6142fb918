"""Sending an invalidation, and keeping it when the backend cannot take it (async source
of ``_sync/invalidation.py``)."""

from __future__ import annotations

from ..coordination.pending import PendingInvalidation
from ..errors import BackendError
from ..runtime import Runtime

__all__ = ["run_invalidation"]

_BATCH = 500


async def run_invalidation(runtime: Runtime, what: PendingInvalidation, keep: bool = True) -> int:
    """Invalidate ``what``; the number of entries that existed.

    If the backend fails: with ``invalidation="retry"`` (and ``keep``), the invalidation
    is kept and retried in the background, and 0 is returned; otherwise the
    ``BackendError`` is raised, since an invalidation silently lost means stale values
    later. Either way, no later call of this process joins a computation from before.
    """
    backend = runtime.async_backend()
    try:
        if what.clear:
            removed = await backend.clear()
        elif what.pattern is not None:
            entries = await backend.scan(what.pattern)
            removed = 0
            for start in range(0, len(entries), _BATCH):
                removed += await backend.invalidate(entries[start : start + _BATCH])
        else:
            removed = await backend.invalidate(what.keys, what.indexes)
    except BackendError:
        if not (keep and runtime.durable_invalidation):
            raise
        runtime.pending.add(what)
        removed = 0
    finally:
        runtime.forget_in_flight()
    return removed
