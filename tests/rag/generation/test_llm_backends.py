"""LLM backends are registered by name: VEILLE_LLM picks one, and nothing else switches on it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from langchain_core.language_models import FakeListChatModel

from rag.answers.answer import Answer
from rag.generation.llm import LLM_BACKENDS, ChatLLM, LLMBackend, describe_llm
from rag.service import Veille
from tests.conftest import SampleStore
from tests.helpers import make_settings
from veille.settings import Settings


@pytest.fixture
def scripted() -> Iterator[str]:
    """A toy backend whose model always names sentence 1 and answers 'scripted'."""

    def build(settings: Settings) -> ChatLLM:
        model = FakeListChatModel(responses=['{"ids": [1], "answer": "scripted"}'] * 10)
        return ChatLLM(model, backend="scripted", json_mode="none", serialise=False)

    LLM_BACKENDS.register("scripted")(LLMBackend(build, lambda s: "ok", lambda s: {"model": "a list of replies"}))
    yield "scripted"
    LLM_BACKENDS.unregister("scripted")


def test_a_registered_backend_answers_and_reports(sample_store: SampleStore, scripted: str) -> None:
    app = Veille(sample_store.settings.model_copy(update={"llm": scripted}), store=sample_store.store)
    assert app.readiness().checks["llm"] == "ok"
    assert app.stats()["llm"] == {"backend": "scripted", "model": "a list of replies"}
    final: Answer | None = None
    for event in app.ask("Qui dirige la délégation russe ?"):
        final = event.answer or final
    assert final is not None and final.llm_calls == 1 and final.raw_output.startswith('{"ids": [1]')


def test_the_builtin_backends_describe_themselves(tmp_path: Path) -> None:
    assert describe_llm(make_settings(tmp_path, llm="none"))["answers"].startswith("extractive")
    openai = describe_llm(make_settings(tmp_path, llm="openai", llm_url="http://127.0.0.1:9/v1"))
    assert openai == {"backend": "openai", "url": "http://127.0.0.1:9/v1", "model": "local"}
    assert (
        Veille(make_settings(tmp_path, llm="openai", llm_url="http://127.0.0.1:9/v1"))
        .llm_status()
        .startswith("unavailable: ConnectError")
    )


def test_an_unknown_backend_is_named_with_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"unknown LLM backend 'vllm' in VEILLE_LLM \(known: embedded, none, openai"):
        Veille(make_settings(tmp_path, llm="vllm"))


def test_settings_that_change_the_model_process_get_their_own_model(tmp_path: Path, scripted: str) -> None:
    from rag.generation.llm import get_llm

    base = make_settings(tmp_path).model_copy(update={"llm": scripted})
    shared = get_llm(base)
    assert get_llm(base.model_copy()) is shared
    # A worker with another prompt cache or state folder is another process: not the first one's client.
    assert get_llm(base.model_copy(update={"llm_prompt_cache_mb": 0})) is not shared
    assert get_llm(base.model_copy(update={"llm_worker_dir": tmp_path / "other"})) is not shared
    assert get_llm(base.model_copy(update={"model_cache_dir": tmp_path / "models"})) is not shared
