"""OpenTelemetryHook, checked with the SDK's in-memory span exporter and metric reader."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)

from redmemo.contrib.opentelemetry import OpenTelemetryHook


class Telemetry:
    def __init__(self, operation_durations: bool = False) -> None:
        self.spans = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])
        self.hook = OpenTelemetryHook(
            tracer_provider=self.tracer_provider,
            meter_provider=self.meter_provider,
            operation_durations=operation_durations,
        )

    def metrics(self) -> dict[str, list[Any]]:
        """Data points by metric name."""
        found: dict[str, list[Any]] = {}
        data = self.reader.get_metrics_data()
        for resource in data.resource_metrics:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    found.setdefault(metric.name, []).extend(metric.data.data_points)
        return found


@pytest.fixture
def telemetry() -> Telemetry:
    return Telemetry()


def test_fills_and_refreshes_are_spans_under_the_callers_span(
    make_cache: Any, backend: str, telemetry: Telemetry
) -> None:
    cache = make_cache(hooks=[telemetry.hook], namespace="otel")

    @cache(ttl=60, name="load")
    def load(x: int) -> int:
        return x

    tracer = telemetry.tracer_provider.get_tracer("app")
    with tracer.start_as_current_span("request") as request:
        load(1)
    with tracer.start_as_current_span("request-2") as second:
        load(1)
    load.refresh(1)
    spans = {span.name: span for span in telemetry.spans.get_finished_spans()}
    fill = spans["redmemo fill load"]
    assert fill.parent is not None
    assert fill.parent.span_id == request.get_span_context().span_id
    assert fill.attributes["redmemo.function"] == "load"
    assert fill.attributes["redmemo.namespace"] == "otel"
    assert fill.attributes["db.operation.name"] == "fill"
    expected_system = "other" if backend == "memory" else "redis"
    assert fill.attributes["db.system.name"] == expected_system
    assert spans["request"].attributes["redmemo.cache.result"] == "miss"
    assert spans["request-2"].attributes["redmemo.cache.result"] == "hit"
    assert second.get_span_context().span_id == spans["request-2"].context.span_id
    assert "redmemo refresh load" in spans


def test_metrics_mirror_the_events(make_cache: Any, telemetry: Telemetry) -> None:
    cache = make_cache(hooks=[telemetry.hook], namespace="otelm")

    @cache(ttl=60, name="load")
    def load(x: int) -> int:
        return x

    load(1)
    load(1)
    load(2)
    found = telemetry.metrics()

    def total(name: str) -> float:
        return sum(p.value for p in found[name] if p.attributes.get("redmemo.function") == "load")

    assert total("redmemo.hits") == 1
    assert total("redmemo.misses") == 2
    assert total("redmemo.fills") == 2
    compute = found["redmemo.compute.duration"]
    assert sum(p.count for p in compute) == 2
    assert "redmemo.backend.operation.duration" not in found  # opt-in: it costs per call
    assert telemetry.hook.wants_timings is False


def test_backend_operation_durations_when_asked(make_cache: Any) -> None:
    telemetry = Telemetry(operation_durations=True)
    cache = make_cache(hooks=[telemetry.hook], namespace="otelops")

    @cache(ttl=60, name="load")
    def load(x: int) -> int:
        return x

    load(1)
    load(1)
    operations = telemetry.metrics()["redmemo.backend.operation.duration"]
    assert {p.attributes["db.operation.name"] for p in operations} >= {"get"}
    assert all(p.attributes["redmemo.namespace"] == "otelops" for p in operations)
