"""Prometheus metrics for a cache: ``Cache(url, hooks=[PrometheusHook()])``.

Needs ``prometheus_client`` (``pip install redmemo[prometheus]``). Metrics are labelled by
``cache`` (the cache's namespace) and ``function`` (the decorated function's name):

=========================================== ==========================================
``redmemo_hits_total``                      fresh values served
``redmemo_stale_total``                     stale values served (a refresh runs behind)
``redmemo_misses_total``                    calls that found nothing usable
``redmemo_fills_total``                     computed values stored
``redmemo_refreshes_total``                 refreshes started (background, early, explicit)
``redmemo_waits_total``                     callers that waited for another's computation
``redmemo_takeovers_total``                 leases taken over from a silent holder
``redmemo_overtaken_total``                 results not stored (invalidated meanwhile)
``redmemo_failures_total``                  calls whose function raised, or whose result
                                            could not be stored
``redmemo_defaults_total``                  misses answered by the default (``wait=False``)
``redmemo_backend_errors_total``            backend failures (the function ran uncached)
``redmemo_breaker_transitions_total``       circuit breaker changes, label ``state``
                                            (``open`` / ``closed``); no ``function``
``redmemo_compute_duration_seconds``        histogram: the function's run, per fill
``redmemo_wait_duration_seconds``           histogram: time callers waited for a fill
``redmemo_backend_command_duration_seconds`` histogram: each backend operation, label
                                            ``operation``; no ``function``
=========================================== ==========================================

Pass ``registry=`` to use a registry of your own (the default is prometheus_client's
global one). Two caches may share one hook or have one each; a hook made twice for one
registry reuses its metrics.
"""

from __future__ import annotations

import threading
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram

from ..events import BreakerClosed, BreakerOpened, CommandTiming, Event, Fill, Waited
from ._counted import COUNTED

__all__ = ["PrometheusHook"]


# Seconds: from a fast cached function to a slow report.
_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

# Key -> (metric name, description, the label besides "cache").
_HISTOGRAMS = {
    "compute": (
        "redmemo_compute_duration_seconds",
        "How long the function ran, per value stored.",
        "function",
    ),
    "wait": (
        "redmemo_wait_duration_seconds",
        "How long callers waited for another caller's computation.",
        "function",
    ),
    "command": (
        "redmemo_backend_command_duration_seconds",
        "How long each backend operation took.",
        "operation",
    ),
}

_lock = threading.Lock()
_metrics_by_registry: dict[int, dict[str, Any]] = {}


def _metrics(registry: CollectorRegistry) -> dict[str, Any]:
    """One set of metrics per registry (registering a name twice is an error there)."""
    with _lock:
        known = _metrics_by_registry.get(id(registry))
        if known is not None:
            return known
        made: dict[str, Any] = {}
        for name, doc in COUNTED.values():
            made[name] = Counter(f"redmemo_{name}", doc, ["cache", "function"], registry=registry)
        made["breaker"] = Counter(
            "redmemo_breaker_transitions",
            "Circuit breaker transitions.",
            ["cache", "state"],
            registry=registry,
        )
        for key, (name, doc, label) in _HISTOGRAMS.items():
            made[key] = Histogram(name, doc, ["cache", label], buckets=_BUCKETS, registry=registry)
        _metrics_by_registry[id(registry)] = made
        return made


class PrometheusHook:
    """A hook that turns a cache's events into Prometheus metrics.

    ``command_durations=False`` leaves out the backend command histogram, and with it the
    timing of every backend operation (a few microseconds per call).
    """

    def __init__(
        self,
        registry: CollectorRegistry | None = None,
        cache_name: str = "",
        command_durations: bool = True,
    ) -> None:
        self._metrics = _metrics(REGISTRY if registry is None else registry)
        self._cache = cache_name
        self.wants_timings = command_durations  # the cache times its backend if asked
        # Label children, looked up once each: labels() costs more than an increment.
        self._children: dict[tuple[str, str], Any] = {}

    def bind(self, cache: Any) -> None:
        """Told by the cache it is added to: its namespace labels the metrics."""
        if not self._cache:
            self._cache = str(cache.namespace)
            self._children.clear()

    def _child(self, metric: str, label: str) -> Any:
        child = self._children.get((metric, label))
        if child is None:
            child = self._metrics[metric].labels(self._cache, label)
            self._children[(metric, label)] = child
        return child

    def __call__(self, event: Event) -> None:
        kind = type(event)
        counted = COUNTED.get(kind)
        if counted is not None:
            function = getattr(event, "function", None) or ""
            self._child(counted[0], function).inc()
            if isinstance(event, Fill):
                self._child("compute", function).observe(event.duration)
        elif isinstance(event, CommandTiming):
            self._child("command", event.operation).observe(event.duration)
        elif isinstance(event, Waited):
            self._child("wait", event.function).observe(event.duration)
        elif isinstance(event, BreakerOpened):
            self._child("breaker", "open").inc()
        elif isinstance(event, BreakerClosed):
            self._child("breaker", "closed").inc()
