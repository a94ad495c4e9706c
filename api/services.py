"""What the routes share: the application service, plus what only an HTTP server needs (auth, the
model queue, metrics, one writer at a time)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import Request

from api.errors import ApiError
from api.metrics import Metrics
from api.security import Caller, Guard
from rag.generation.llm import ChatLLM
from rag.service import Veille
from veille.keys import parse_keys
from veille.settings import Settings


class Services(Veille):
    def __init__(self, settings: Settings, llm: ChatLLM | None = None) -> None:
        super().__init__(settings, llm)
        self.guard = Guard(parse_keys(settings.api_keys), settings.rate_limit_per_minute)
        self.metrics = Metrics()
        # Ingestion writes; one writer at a time per process keeps the ledger's pending/complete simple.
        self.write_lock = threading.Lock()
        self._llm_slots = threading.BoundedSemaphore(settings.llm_queue)

    @contextmanager
    def llm_slot(self) -> Iterator[None]:
        """A place in the LLM queue, or 503 busy: requests are not left waiting minutes for a 2-core model."""
        if not self._llm_slots.acquire(blocking=False):
            raise ApiError(
                503,
                "busy",
                f"{self.settings.llm_queue} answers are already waiting for the model; retry shortly",
                {"Retry-After": "15"},
            )
        try:
            yield
        finally:
            self._llm_slots.release()


def services(request: Request) -> Services:
    svc: Services = request.app.state.services
    return svc


def reader(request: Request) -> Caller:
    return services(request).guard.caller(request, "read")


def writer(request: Request) -> Caller:
    return services(request).guard.caller(request, "write")
