"""`veille serve` survives the model's process dying in the middle of an answer (slow, real servers)."""

from __future__ import annotations

import os
import signal
import threading
import time

import httpx
import pytest

from rag.generation.llm import worker_supervisor
from rag.generation.model_weights import ensure_model
from tests.api.conftest import Server
from veille.settings import Settings

pytestmark = [pytest.mark.slow, pytest.mark.server]
QUESTION = "Qui dirige la délégation russe ?"


def _worker(settings: Settings) -> tuple[int, int]:
    """(pid, requests in flight) of the worker the server uses (the same settings find the same one)."""
    health = worker_supervisor(settings, ensure_model(settings.model_cache_dir)).health()
    assert health is not None
    return int(health["pid"]), int(health["in_flight"])


def test_kill_9_of_the_model_mid_answer_is_one_503_then_answers_again(corpus: Server) -> None:
    settings = Settings()
    with corpus.client("read") as c:
        assert c.post("/v1/answers", json={"question": QUESTION}).status_code == 200  # the worker is up
        ready = c.get("/readyz").json()
        assert ready["llm"]["process"] == "worker" and "running, pid" in ready["llm"]["worker"]
        assert "AVX2 = 1" in ready["llm"]["llama_cpp_system_info"]
        pid, _ = _worker(settings)
        result: dict[str, httpx.Response] = {}
        # Another question, so the prompt is not all in the worker's cache: it is still being read.
        ask = threading.Thread(
            target=lambda: result.update(
                r=c.post("/v1/answers", json={"question": "Qui dirige la délégation ukrainienne ?"})
            )
        )
        ask.start()
        deadline = time.monotonic() + 30
        while _worker(settings)[1] == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert _worker(settings)[1] > 0, "the answer never reached the model"
        os.kill(pid, signal.SIGKILL)
        ask.join(120)
        r = result["r"]
        assert r.status_code == 503, r.text
        assert r.json()["error"]["code"] == "llm_unavailable"
        # The server lives, and the next question restarts the model and is answered.
        again = c.post("/v1/answers", json={"question": QUESTION})
        assert again.status_code == 200 and "Dmitriev" in again.json()["text"], again.text
        assert _worker(settings)[0] != pid
