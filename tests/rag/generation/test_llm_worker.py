"""The embedded model in its own supervised process: long prompts, sharing, crashes and restarts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from langchain_core.messages import HumanMessage

from rag.answers.answer import Answerer
from rag.generation.llm import LLMUnreachable, Usage, build_chat_model, worker_dir
from rag.generation.llm_supervisor import Supervisor, WorkerError, WorkerSpec
from tests.conftest import SampleStore
from tests.helpers import make_settings
from veille.settings import Settings


def test_the_worker_folder_is_a_setting_and_the_tests_do_not_share_the_users(tmp_path: Path) -> None:
    default = make_settings(tmp_path, llm_worker_dir=None, model_cache_dir=tmp_path / "cache")
    assert worker_dir(default) == tmp_path / "cache" / "llm-worker"
    assert worker_dir(make_settings(tmp_path, llm_worker_dir=tmp_path / "w")) == tmp_path / "w"
    empty = make_settings(tmp_path, llm_worker_dir="", model_cache_dir=tmp_path / "c")
    assert worker_dir(empty) == tmp_path / "c" / "llm-worker"  # an empty variable is the default
    # The suite's own folder (tests/conftest.py): its kill -9 test must not reach a user's worker.
    assert worker_dir(make_settings(tmp_path)) != Settings(_env_file=None).model_cache_dir / "llm-worker"  # type: ignore[call-arg]


def test_a_model_that_cannot_load_is_a_clear_error_and_the_caller_lives(tmp_path: Path) -> None:
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"GGUF" + os.urandom(4096))
    sup = Supervisor(WorkerSpec(bad, n_ctx=512, threads=1, start_timeout_s=60), tmp_path / "state")
    with pytest.raises(WorkerError, match="exited with code"):
        sup.url()
    assert sup.health() is None


def test_an_unreachable_worker_falls_back_to_an_extractive_answer(sample_store: SampleStore, tmp_path: Path) -> None:
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"GGUF" + os.urandom(4096))
    settings = sample_store.settings.model_copy(
        update={"llm_model_path": bad, "model_cache_dir": tmp_path / "cache", "llm_start_timeout_s": 60.0}
    )
    llm = build_chat_model(settings)
    with pytest.raises(LLMUnreachable):
        list(llm.stream([]))
    ans = Answerer(sample_store.store, settings, llm=llm).answer("Qui dirige la délégation russe ?")
    assert ans.mode == "extractive" and not ans.refused, ans.refusal_reason
    assert ans.text.startswith("Réponse extraite des sources") and "Dmitriev" in ans.text
    assert ans.citations and "Dmitriev" in ans.citations[0].quote


@pytest.fixture(scope="module")
def worker_settings(sample_store: SampleStore) -> Settings:
    # A wider context than the default, so the prompt passes 512 tokens: the batch size at which
    # the AMX build crashed (a 1-token prompt worked).
    return sample_store.settings.model_copy(update={"answer_passages": 8, "context_tokens": 1200})


@pytest.mark.slow
@pytest.mark.server
def test_a_long_prompt_is_answered_through_the_worker(worker_settings: Settings, sample_store: SampleStore) -> None:
    llm = build_chat_model(worker_settings)
    assert llm.worker is not None and not llm.in_process
    ans = Answerer(sample_store.store, worker_settings, llm=llm).answer("Qui dirige la délégation ukrainienne ?")
    assert ans.prompt_tokens is not None and ans.prompt_tokens >= 512, ans.prompt_tokens
    assert not ans.refused, (ans.refusal_reason, ans.dropped_claims)
    assert "Umerov" in ans.text and ans.citations
    health = llm.worker.health()
    assert health is not None and "AMX" not in health["system_info"].replace("AMX_INT8 = 0", "")


@pytest.mark.slow
@pytest.mark.server
def test_the_worker_stops_at_the_callers_token_limit(worker_settings: Settings) -> None:
    # LangChain's client sends the limit as max_completion_tokens, which llama_cpp.server alone ignores:
    # this prompt then ran for hundreds of tokens.
    llm = build_chat_model(worker_settings)
    assert llm.worker is not None
    usage = Usage()
    text = "".join(llm.stream([HumanMessage("Écris un très long poème sur la mer.")], max_tokens=4, usage=usage))
    assert usage.completion_tokens == 4, (usage.completion_tokens, text)


@pytest.mark.slow
@pytest.mark.server
def test_processes_share_one_worker_and_a_killed_one_is_restarted(worker_settings: Settings) -> None:
    llm = build_chat_model(worker_settings)
    llm.worker.url()
    pid = llm.worker.pid()
    assert pid is not None
    # Another process with the same settings finds the same worker instead of loading the model again.
    code = (
        "from rag.generation.llm_supervisor import WorkerSpec, supervisor_for; from pathlib import Path; import sys; "
        f"s = supervisor_for(WorkerSpec(Path({str(llm.worker.spec.model_path)!r}), {worker_settings.llm_ctx}, "
        f"{worker_settings.threads}), Path({str(llm.worker.state_dir)!r})); s.url(); print(s.pid())"
    )
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert int(other.stdout.strip()) == pid
    os.kill(pid, signal.SIGKILL)
    time.sleep(0.5)
    llm.worker.url()
    assert llm.worker.pid() not in (None, pid)
    assert llm.worker.restarts >= 1
