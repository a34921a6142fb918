"""OpenTelemetry traces and metrics for a cache: ``Cache(url, hooks=[OpenTelemetryHook()])``.

Needs ``opentelemetry-api`` (``pip install redmemo[opentelemetry]``) and, to export
anything, an SDK configured by the application. The providers default to the global ones.

Traces:
  * a span per computation stored, ``redmemo fill <function>`` (``redmemo refresh
    <function>`` when it refreshed a stale or explicit value), covering the function's
    run, a child of the span current when the value was stored;
  * on the caller's current span, the attribute ``redmemo.cache.result``: ``hit``,
    ``stale`` or ``miss``, and ``redmemo.function``.
Metrics mirror the Prometheus hook's: counters ``redmemo.hits``, ``redmemo.stale``,
``redmemo.misses``, ``redmemo.fills``, ``redmemo.refreshes``, ``redmemo.waits``,
``redmemo.takeovers``, ``redmemo.overtaken``, ``redmemo.failures``, ``redmemo.defaults``,
``redmemo.backend.errors``, ``redmemo.breaker.transitions`` (attribute ``state``); histograms
(seconds) ``redmemo.compute.duration``, ``redmemo.wait.duration`` and, with
``operation_durations=True``, ``redmemo.backend.operation.duration`` (attribute
``db.operation.name``).

Attributes follow the semantic conventions for database clients where they apply:
``db.system.name`` (``redis``, or ``other`` for the memory backend), ``db.namespace``
(the Redis database index), ``db.operation.name`` (the backend operation); redmemo's own
are ``redmemo.namespace`` (the cache's namespace) and ``redmemo.function``.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.metrics import Observation

from ..events import (
    BreakerClosed,
    BreakerOpened,
    CommandTiming,
    Event,
    Fill,
    Hit,
    Miss,
    Refresh,
    Stale,
    Waited,
)
from ._counted import COUNTED

__all__ = ["OpenTelemetryHook"]

_COUNTED = {
    kind: ("redmemo." + name.replace("_", "."), doc) for kind, (name, doc) in COUNTED.items()
}
_RESULT = {Hit: "hit", Stale: "stale", Miss: "miss"}


class OpenTelemetryHook:
    """A hook that turns a cache's events into OpenTelemetry spans and metrics.

    Counts are kept here and read by the SDK when it collects (observable counters): the
    SDK's own ``add()`` costs tens of microseconds per call, more than a cache hit's
    own work. ``operation_durations=True`` adds the histogram of every backend
    operation, recorded one by one (that cost, on every call).
    """

    def __init__(
        self,
        tracer_provider: Any = None,
        meter_provider: Any = None,
        operation_durations: bool = False,
    ) -> None:
        self._tracer = trace.get_tracer("redmemo", tracer_provider=tracer_provider)
        meter = metrics.get_meter("redmemo", meter_provider=meter_provider)
        self._lock = threading.Lock()
        # (metric name, function) -> count; read by the observable counters' callbacks.
        self._counts: dict[tuple[str, str], int] = {}
        for name, doc in _COUNTED.values():
            meter.create_observable_counter(
                name, callbacks=[self._observer(name)], unit="1", description=doc
            )
        meter.create_observable_counter(
            "redmemo.breaker.transitions",
            callbacks=[self._observer("redmemo.breaker.transitions", "state")],
            unit="1",
            description="Circuit breaker transitions.",
        )
        self._compute = meter.create_histogram(
            "redmemo.compute.duration", unit="s", description="The function's run, per fill."
        )
        self._wait = meter.create_histogram(
            "redmemo.wait.duration", unit="s", description="Time callers waited for a fill."
        )
        self._operation = meter.create_histogram(
            "redmemo.backend.operation.duration",
            unit="s",
            description="Each backend operation.",
        )
        self.wants_timings = operation_durations
        self._base: dict[str, Any] = {"db.system.name": "other", "redmemo.namespace": ""}
        self._attributes: dict[tuple[str, str], dict[str, Any]] = {}
        self._refreshing: set[str] = set()  # keys whose next fill is a refresh

    def bind(self, cache: Any) -> None:
        """Told by the cache it is added to: the attributes that name it."""
        base: dict[str, Any] = {"redmemo.namespace": str(cache.namespace)}
        settings = cache.settings
        if settings.kind == "redis":
            base["db.system.name"] = "redis"
            base["db.namespace"] = str(settings.redis_kwargs.get("db", 0))
        else:
            base["db.system.name"] = "other"
        self._base = base
        self._attributes.clear()

    def _attrs(self, name: str, value: str) -> dict[str, Any]:
        attributes = self._attributes.get((name, value))
        if attributes is None:
            attributes = self._attributes[(name, value)] = {**self._base, name: value}
        return attributes

    def _observer(self, metric: str, label: str = "redmemo.function") -> Any:
        def observe(options: Any) -> list[Observation]:
            with self._lock:
                counts = [(k[1], n) for k, n in self._counts.items() if k[0] == metric]
            return [Observation(n, self._attrs(label, value)) for value, n in counts]

        return observe

    def _count(self, metric: str, value: str) -> None:
        key = (metric, value)
        with self._lock:
            self._counts[key] = self._counts.get(key, 0) + 1

    def __call__(self, event: Event) -> None:
        kind = type(event)
        counted = _COUNTED.get(kind)
        if counted is not None:
            function = getattr(event, "function", None) or ""
            self._count(counted[0], function)
            result = _RESULT.get(kind)
            if result is not None:
                span = trace.get_current_span()
                if span.is_recording():
                    span.set_attribute("redmemo.cache.result", result)
                    span.set_attribute("redmemo.function", function)
            elif isinstance(event, Refresh):
                self._refreshing.add(event.key)
            elif isinstance(event, Fill):
                attributes = self._attrs("redmemo.function", function)
                self._compute.record(event.duration, attributes)
                self._span(event, attributes)
        elif isinstance(event, CommandTiming):
            self._operation.record(
                event.duration, self._attrs("db.operation.name", event.operation)
            )
        elif isinstance(event, Waited):
            self._wait.record(event.duration, self._attrs("redmemo.function", event.function))
        elif isinstance(event, (BreakerOpened, BreakerClosed)):
            state = "open" if isinstance(event, BreakerOpened) else "closed"
            self._count("redmemo.breaker.transitions", state)

    def _span(self, event: Fill, attributes: dict[str, Any]) -> None:
        """The fill's span, after the fact: it ends now and began ``duration`` ago."""
        verb = "refresh" if event.key in self._refreshing else "fill"
        self._refreshing.discard(event.key)
        end = time.time_ns()
        start = end - int(event.duration * 1e9)
        span = self._tracer.start_span(
            f"redmemo {verb} {event.function}",
            start_time=start,
            attributes={**attributes, "db.operation.name": verb},
        )
        span.end(end_time=end)
