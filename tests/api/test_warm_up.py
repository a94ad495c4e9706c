"""`veille serve` loads the model at start, before any question (slow: a real model process)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from rag.generation.llm_supervisor import stop_all, worker_pids
from tests.api.conftest import start
from tests.helpers import SAMPLE_DIR

pytestmark = [pytest.mark.slow, pytest.mark.server]


def test_serve_starts_the_model_before_the_first_question(tmp_path: Path) -> None:
    workers = tmp_path / "workers"  # its own worker folder: no model process exists yet
    try:
        for server in start(tmp_path / "srv", warm_up="true", llm_worker_dir=str(workers)):
            log = tmp_path / "srv" / "server.log"
            deadline = time.monotonic() + 240
            while "model ready" not in log.read_text(errors="replace") and time.monotonic() < deadline:
                time.sleep(0.5)
            text = log.read_text(errors="replace")
            assert "model ready: loaded and warmed up" in text, text[-2000:]
            pids = worker_pids(workers)
            assert len(pids) == 1  # started by the warm-up: no question was asked
            files = [("files", (p.name, p.read_bytes(), "text/plain")) for p in sorted(SAMPLE_DIR.iterdir())]
            with server.client() as c:
                assert c.post("/v1/articles", files=files).status_code == 200
                r = c.post("/v1/answers", json={"question": "Qui dirige la délégation russe ?"})
            assert r.status_code == 200 and "Dmitriev" in r.json()["text"], r.text
            assert worker_pids(workers) == pids  # the warmed process answered: no second start
    finally:
        stop_all(workers)


def test_a_failed_warm_up_leaves_the_server_serving(tmp_path: Path) -> None:
    # An OpenAI-compatible server that is not there: the warm-up fails, the API keeps answering.
    for server in start(tmp_path / "srv", warm_up="true", llm="openai", llm_url="http://127.0.0.1:9/v1"):
        log = tmp_path / "srv" / "server.log"
        deadline = time.monotonic() + 60
        while "warm-up failed" not in log.read_text(errors="replace") and time.monotonic() < deadline:
            time.sleep(0.2)
        assert "model warm-up failed" in log.read_text(errors="replace")
        with server.client("read") as c:
            assert c.get("/healthz").status_code == 200
