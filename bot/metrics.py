"""Prometheus metrics, in a registry per app (no process-global state), served at ``/metrics``.

With several workers (``dalil serve --workers N``) each worker is its own process: ``dalil serve`` then
sets ``PROMETHEUS_MULTIPROC_DIR`` and every worker writes its values there, so one scrape of any
worker shows the sum over all of them (prometheus-client's multiprocess mode).
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

__all__ = ["Metrics"]

_LATENCY_BUCKETS_S = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class Metrics:
    """Counters and latencies of turns, parses and HTTP requests."""

    def __init__(self) -> None:
        """A fresh registry."""
        self.registry = CollectorRegistry()
        self.turns = Counter(
            "dalil_turns_total", "Messages answered", ["channel", "intent"], registry=self.registry
        )
        self.turn_seconds = Histogram(
            "dalil_turn_seconds",
            "Time to answer one message",
            ["channel"],
            buckets=_LATENCY_BUCKETS_S,
            registry=self.registry,
        )
        self.parses = Counter("dalil_parses_total", "Texts parsed via /model/parse", registry=self.registry)
        self.nlu_failures = Counter(
            "dalil_nlu_failures_total",
            "Messages the NLU backend (a Rasa server) could not parse: down, slow or garbled",
            ["channel"],
            registry=self.registry,
        )
        self.deliveries = Counter(
            "dalil_deliveries_total",
            "Outgoing channel messages",
            ["channel", "outcome"],
            registry=self.registry,
        )
        self.statuses = Counter(
            "dalil_channel_statuses_total",
            "Delivery statuses reported by a channel (sent, delivered, read, failed)",
            ["channel", "status"],
            registry=self.registry,
        )
        self.webhooks = Counter(
            "dalil_webhooks_total",
            "Incoming webhook requests",
            ["channel", "outcome"],
            registry=self.registry,
        )

    def exposition(self) -> bytes:
        """The text format of every metric: this process's, or all workers' in multiprocess mode."""
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return generate_latest(registry)
        return generate_latest(self.registry)
