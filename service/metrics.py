"""Prometheus metrics: request latency, evaluations, deductions by rule id.

Each app has its own registry, so several apps in one process (tests) never collide. With
several uvicorn workers each process answers /metrics with its own counts (docs/deploy.md).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Metrics:
    """The service's metrics, in one registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.latency = Histogram(
            "jixiao_http_request_duration_seconds",
            "HTTP request latency by method, route template and status",
            ["method", "route", "status"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.evaluations = Counter(
            "jixiao_evaluations_total",
            "Evaluations stored, by rubric and mode",
            ["rubric", "mode"],
            registry=self.registry,
        )
        self.deductions = Counter(
            "jixiao_deductions_total",
            "Deductions in stored evaluations, by rule id",
            ["rule"],
            registry=self.registry,
        )
        self.adjustments = Counter(
            "jixiao_adjustments_total",
            "Reviewer adjustments, by clause",
            ["clause"],
            registry=self.registry,
        )
        self.replays = Counter(
            "jixiao_replays_total",
            "Replays, by outcome",
            ["reproduced"],
            registry=self.registry,
        )

    def render(self) -> bytes:
        """The exposition text."""
        return generate_latest(self.registry)
