"""The production path: answers through a real OpenAI-compatible server (llama.cpp's) on loopback."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from langchain_core.messages import HumanMessage

from rag.answers.answer import Answerer
from rag.generation.llm import LLMUnavailable, build_chat_model
from rag.generation.model_weights import ensure_model
from tests.conftest import SampleStore
from tests.helpers import free_port, running_server
from veille.settings import Settings

pytestmark = [pytest.mark.slow, pytest.mark.server]


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    model = ensure_model(Settings().model_cache_dir)
    port = free_port()
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1",
           "--port", str(port), "--n_ctx", "4096", "--n_threads", "2", "--model_alias", "veille-test"]  # fmt: skip
    url = f"http://127.0.0.1:{port}/v1"
    with running_server(cmd, f"{url}/models", log):
        yield url


def test_answer_through_openai_compatible_server(llama_server: str, sample_store: SampleStore) -> None:
    settings = sample_store.settings.model_copy(
        update={"llm": "openai", "llm_url": llama_server, "llm_model": "veille-test", "llm_json_mode": "auto"}
    )
    answerer = Answerer(sample_store.store, settings, llm=build_chat_model(settings))
    ans = answerer.answer("Qui dirige la délégation russe ?")
    assert not ans.refused, (ans.refusal_reason, ans.dropped_claims)
    assert "Dmitriev" in ans.text and ans.citations
    assert any("Dmitriev" in c.quote for c in ans.citations)
    # The server rejects OpenAI's json_schema format; the client fell back to llama.cpp's json_object.
    assert answerer.llm._json_mode in ("json_object", "json_schema")


def test_server_down_is_a_clear_error_and_answers_fall_back_to_quotes(
    sample_store: SampleStore, tmp_path: Path
) -> None:
    settings = sample_store.settings.model_copy(
        update={"llm": "openai", "llm_url": f"http://127.0.0.1:{free_port()}/v1", "llm_timeout_s": 5.0}
    )
    llm = build_chat_model(settings)
    with pytest.raises(LLMUnavailable, match="refuses connections"):
        list(llm.stream([HumanMessage("Bonjour")]))
    ans = Answerer(sample_store.store, settings, llm=llm).answer("Qui dirige la délégation russe ?")
    assert ans.mode == "extractive" and not ans.refused
    assert "sans modèle de langue" in ans.text and "Dmitriev" in ans.text
    assert "LLM unreachable" in ans.refusal_reason
