"""The events that both metric hooks count, with one name and one description each."""

from __future__ import annotations

from ..events import (
    BackendFailure,
    Default,
    Failure,
    Fill,
    Hit,
    Miss,
    Overtaken,
    Refresh,
    Stale,
    Takeover,
    Wait,
)

__all__ = ["COUNTED"]

# Event type -> (name, description); Prometheus writes ``redmemo_<name>_total``,
# OpenTelemetry ``redmemo.<name with dots>``.
COUNTED: dict[type, tuple[str, str]] = {
    Hit: ("hits", "Fresh values served from the cache."),
    Stale: ("stale", "Stale values served while one refresh runs."),
    Miss: ("misses", "Calls that found no usable value."),
    Fill: ("fills", "Computed values stored."),
    Refresh: ("refreshes", "Refreshes started."),
    Wait: ("waits", "Callers that waited for another caller's computation."),
    Takeover: ("takeovers", "Leases taken over from a holder that went quiet."),
    Overtaken: ("overtaken", "Computed values not stored: invalidated or taken over."),
    Failure: ("failures", "Calls whose function raised, or whose result was not stored."),
    Default: ("defaults", "Misses answered at once by the default (wait=False)."),
    BackendFailure: ("backend_errors", "Backend failures; the function ran uncached."),
}
