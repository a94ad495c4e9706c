"""Prometheus metrics: requests, latencies, answers and LLM tokens (GET /metrics)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram


class Metrics:
    def __init__(self) -> None:
        # One registry per app, so two apps in one process (tests) do not collide.
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "veille_requests_total", "HTTP requests", ["method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "veille_request_seconds",
            "HTTP request latency",
            ["route"],
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80, 160),
            registry=self.registry,
        )
        self.answers = Counter("veille_answers_total", "Answers", ["refused"], registry=self.registry)
        self.llm_tokens = Counter("veille_llm_tokens_total", "LLM tokens", ["kind"], registry=self.registry)

    def answered(self, refused: bool, prompt_tokens: int | None, completion_tokens: int | None) -> None:
        self.answers.labels(refused=str(refused).lower()).inc()
        if prompt_tokens:
            self.llm_tokens.labels(kind="prompt").inc(prompt_tokens)
        if completion_tokens:
            self.llm_tokens.labels(kind="completion").inc(completion_tokens)
