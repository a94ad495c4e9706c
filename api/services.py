"""What the routes share: settings, the store, the answerer and digester, auth and metrics."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path

import httpx
from fastapi import Request

from api.errors import ApiError
from api.metrics import Metrics
from api.security import Caller, Guard, parse_keys
from index.ingest import Ingestor
from index.store import Store
from rag.answer import Answerer
from rag.digests import Digester
from rag.llm import ChatLLM, get_llm
from rag.model_weights import FILE_NAME
from veille.settings import Settings


class Services:
    def __init__(self, settings: Settings, llm: ChatLLM | None = None) -> None:
        self.settings = settings
        self.guard = Guard(parse_keys(settings.api_keys), settings.rate_limit_per_minute)
        self.metrics = Metrics()
        self._llm = llm
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

    @cached_property
    def store(self) -> Store:
        return Store(self.settings)

    @property
    def llm(self) -> ChatLLM:
        if self._llm is None:
            self._llm = get_llm(self.settings)
        return self._llm

    @cached_property
    def answerer(self) -> Answerer:
        return Answerer(self.store, self.settings, llm=self.llm)

    @cached_property
    def digester(self) -> Digester:
        return Digester(self.store, self.settings, llm=self.llm)

    def llm_status(self) -> str:
        """ok, or why not: the embedded model's weights, or the server's /models answering."""
        s = self.settings
        if s.llm == "none":
            return "ok"
        if s.llm == "embedded":
            if self._llm is not None:
                return "ok"
            path = s.llm_model_path or (s.model_cache_dir / FILE_NAME)
            return "ok" if Path(path).exists() else f"unavailable: model weights not assembled yet at {path}"
        try:
            headers = {"Authorization": f"Bearer {s.llm_api_key.get_secret_value()}"} if s.llm_api_key else {}
            r = httpx.get(s.llm_url.rstrip("/") + "/models", headers=headers, timeout=3.0)
            return "ok" if r.status_code < 500 else f"unavailable: HTTP {r.status_code} from {s.llm_url}"
        except httpx.HTTPError as exc:
            return f"unavailable: {type(exc).__name__} at {s.llm_url}"

    def ingestor(self) -> Ingestor:
        return Ingestor(self.store)


def services(request: Request) -> Services:
    svc: Services = request.app.state.services
    return svc


def reader(request: Request) -> Caller:
    return services(request).guard.caller(request, "read")


def writer(request: Request) -> Caller:
    return services(request).guard.caller(request, "write")
