"""Shared fixtures: an isolated environment, the real default embedder, and one
ingested sample-corpus store for the tests that only read."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from index.embedders import Embedder, load_embedder
from index.ingest import Ingestor
from index.models import IngestReport
from index.readers import ReadOptions, read_inputs
from index.store import Store
from tests.helpers import SAMPLE_DIR, make_settings
from veille.settings import Settings


@pytest.fixture(scope="session", autouse=True)
def _isolated_environment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """No VEILLE_* variable of the machine leaks into the tests; nothing reaches a model hub; the
    model worker the tests start (and kill -9) is their own, not one a user's `veille serve` shares."""
    with pytest.MonkeyPatch.context() as mp:
        for key in list(os.environ):
            if key.startswith("VEILLE_"):
                mp.delenv(key)
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setenv("TRANSFORMERS_OFFLINE", "1")
        mp.setenv("ANONYMIZED_TELEMETRY", "False")
        workers = tmp_path_factory.mktemp("llm-worker")
        mp.setenv("VEILLE_LLM_WORKER_DIR", str(workers))
        # The model's worker outlives no test run: it is stopped below, and exits by itself if not.
        mp.setenv("VEILLE_LLM_IDLE_EXIT_S", "300")
        # Servers started by tests do not load the model until a test asks for it (most never do);
        # tests/api/test_warm_up.py turns the warm-up on and checks it.
        mp.setenv("VEILLE_WARM_UP", "false")
        from rag.generation.llm_supervisor import stop_all

        yield
        stop_all(workers)


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The real default embedder, loaded once (load_embedder is cached with these arguments)."""
    s = make_settings(Path("unused"))
    return load_embedder(s.embedder, s.embed_device, s.embed_batch_size, s.threads)


@dataclass
class SampleStore:
    settings: Settings
    store: Store
    first_report: IngestReport


@pytest.fixture(scope="session")
def sample_store(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[SampleStore]:
    """examples/articles ingested once with the real pipeline. Tests using it must only read
    (re-ingesting the unchanged corpus is a read)."""
    settings = make_settings(tmp_path_factory.mktemp("sample-store"))
    store = Store(settings)
    report = Ingestor(store).ingest(read_inputs([SAMPLE_DIR], ReadOptions()))
    yield SampleStore(settings, store, report)
    store.close()


@pytest.fixture
def new_store(tmp_path: Path, embedder: Embedder) -> Iterator[Store]:
    """A fresh, empty store in tmp_path with the default settings."""
    store = Store(make_settings(tmp_path / "data"))
    yield store
    store.close()


@pytest.fixture(scope="session")
def big_txt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real 50 MB UTF-8 text file (a repeated block, written in a fraction of a second)."""
    path = tmp_path_factory.mktemp("big") / "enorme.txt"
    block = ("Une ligne de texte en français pour remplir un très gros fichier. " * 15 + "\n").encode() * 1000
    with path.open("wb") as fh:
        while fh.tell() < 50 * 2**20:
            fh.write(block)
    return path
