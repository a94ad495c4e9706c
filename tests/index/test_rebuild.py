"""Rebuilding the Chroma collection from the catalog: the same vectors, ids and hits as before,
nothing re-embedded that the catalog kept, and the old collection intact until the new one is done."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from datetime import date
from typing import Any

import numpy as np
import pytest

from index.embedders import Embedder
from index.ingest import Ingestor
from index.models import Article
from index.rebuild import rebuild_vectors
from index.store import Filters, Store
from index.vectors import StoreError, VectorIndex, drop_collection, retired_name
from index.writers import lease
from tests.helpers import catalog_ids, chroma_ids, make_settings

TEXTS = (
    "La grêle a détruit les vignes du Bordelais ; les viticulteurs demandent une aide de l'État.",
    "Le conseil municipal de Lyon vote la gratuité des transports pour les moins de dix-huit ans.",
    "Une délégation russe dirigée par un banquier rencontre des négociateurs américains à Genève.",
    "Les urgences de l'hôpital de Nantes ferment la nuit faute de médecins urgentistes.",
)
QUERIES = ("Qui mène la délégation russe ?", "aide aux viticulteurs après la grêle")
WINDOW = Filters(since=date(2024, 3, 3), until=date(2024, 3, 6), sources=("agence",))


def _articles(days: range = range(1, 9)) -> list[Article]:
    return [
        Article(
            id=f"t{t}-d{day}",
            title=f"Dépêche du {day} mars",
            text=f"{text} Compte rendu du {day} mars 2024.",
            source="agence" if day % 2 else "journal",
            date=f"2024-03-{day:02d}",
        )
        for t, text in enumerate(TEXTS)
        for day in days
    ]


@pytest.fixture
def store(tmp_path: Any, embedder: Embedder) -> Iterator[Store]:
    """A store with 32 articles, searched through Chroma's own filter (no exact path, nothing in memory)."""
    s = Store(make_settings(tmp_path / "data", dense_exact_max_chunks=0, dense_resident_max_chunks=0))
    assert len(Ingestor(s).ingest(_articles()).added) == 32
    yield s
    s.close()


def _vectors(store: Store) -> dict[str, np.ndarray]:
    return {cid: np.asarray(v) for cid, v in store.vectors.vectors_of(sorted(catalog_ids(store))).items()}


def _hits(store: Store) -> list[list[tuple[str, float]]]:
    return [
        [(h.chunk_id, round(h.score, 5)) for h in store.search_dense(q, 6, f)]
        for q in QUERIES
        for f in (Filters(), WINDOW)
    ]


def _collections(store: Store) -> set[str]:
    return {c.name for c in store.chroma.list_collections()}


def test_a_lost_collection_is_written_again_from_the_catalog(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    before_vectors, before_hits = _vectors(store), _hits(store)
    drop_collection(store.chroma, store.settings.collection)
    store.reopen_vectors()
    assert store.vectors.count() == 0
    monkeypatch.setattr(store.embedder, "embed_passages", _refuse)  # the catalog kept every vector

    report = rebuild_vectors(store)

    assert (report.chunks, report.embedded, report.reconciled) == (len(before_vectors), 0, 0)
    assert chroma_ids(store) == catalog_ids(store) == set(before_vectors)
    after = _vectors(store)
    assert all(np.allclose(after[c], v, atol=1e-6) for c, v in before_vectors.items())
    assert _hits(store) == before_hits, "the same hits, Chroma's date and source filter included"
    assert _collections(store) == {store.settings.collection}


def test_a_damaged_collection_is_replaced_exactly(store: Store) -> None:
    before_vectors, before_hits = _vectors(store), _hits(store)
    ids = sorted(before_vectors)
    store.vectors.delete_ids(ids[:5])
    col = store.chroma.get_collection(store.settings.collection)
    col.upsert(ids=["stray:0"], embeddings=[[0.1] * store.embedder.dim], metadatas=[{"article_id": "stray"}])
    col.upsert(ids=[ids[10]], embeddings=[[0.2] * store.embedder.dim])  # a wrong vector under a real id

    old_index = _index_folders(store)
    assert old_index, "Chroma keeps the collection's HNSW index in a folder of its own"

    report = rebuild_vectors(store)

    assert chroma_ids(store) == set(ids)
    new_index = _index_folders(store)
    assert len(new_index) == len(old_index) and not new_index & old_index, "the old index's files are gone"
    assert report.freed_bytes > 0
    after = _vectors(store)
    assert np.allclose(after[ids[10]], before_vectors[ids[10]], atol=1e-6)
    assert _hits(store) == before_hits


def test_chunks_without_a_kept_vector_are_embedded_again(store: Store) -> None:
    before = _vectors(store)
    with sqlite3.connect(store.catalog.path) as db:  # as a store written before the catalog kept vectors
        db.execute("DELETE FROM chunk_vectors WHERE rowid IN (SELECT rowid FROM chunks WHERE article_id LIKE 't2-%')")
        db.execute("DELETE FROM meta WHERE key = 'chunk_vectors'")
    missing = {c for c in before if c.startswith("t2-")}
    assert store.catalog.chunks_without_vectors() and not store.catalog.vectors_copied()
    drop_collection(store.chroma, store.settings.collection)
    store.reopen_vectors()

    report = rebuild_vectors(store)

    assert report.embedded == len(missing) == 8
    after = _vectors(store)
    assert all(np.allclose(after[c], v, atol=1e-4) for c, v in before.items())
    assert store.catalog.chunks_without_vectors() == [] and store.catalog.vectors_copied()


def test_a_damaged_vector_copy_is_replaced_once(store: Store) -> None:
    before = _vectors(store)
    with closing(sqlite3.connect(store.catalog.path)) as db, db:  # cut short, as a torn write or bad restore leaves it
        db.execute("UPDATE chunk_vectors SET vec = substr(vec, 1, 100) WHERE rowid = (SELECT min(rowid) FROM chunks)")

    assert rebuild_vectors(store).embedded == 1
    assert rebuild_vectors(store).embedded == 0, "the fresh vector took the damaged copy's place"
    after = _vectors(store)
    assert all(np.allclose(after[c], v, atol=1e-4) for c, v in before.items())
    window = store.catalog.vectors_in(None, None, None, store.embedder.dim)
    assert window is not None, "every copy has the embedder's size again: the exact search can use them"


def test_an_interrupted_rebuild_leaves_the_collection_in_place(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    before = _vectors(store)
    monkeypatch.setattr("index.rebuild.PAGE", 10)
    real = VectorIndex.upsert
    calls = 0

    def dies_on_the_second_page(self: VectorIndex, *args: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise KeyboardInterrupt
        real(self, *args)

    monkeypatch.setattr(VectorIndex, "upsert", dies_on_the_second_page)
    with pytest.raises(KeyboardInterrupt):
        rebuild_vectors(store)
    assert chroma_ids(store) == set(before), "the old collection still answers"
    assert _collections(store) == {store.settings.collection, f"{store.settings.collection}-rebuild"}

    monkeypatch.setattr(VectorIndex, "upsert", real)
    report = rebuild_vectors(store)
    assert report.chunks == len(before)
    assert _collections(store) == {store.settings.collection}
    assert chroma_ids(store) == set(before)


def test_a_live_writer_stops_the_rebuild(store: Store) -> None:
    with lease() as writer:
        assert store.catalog.claim([Article(id="en-cours", text="Un article en cours d'écriture.")], writer, 600)
        with pytest.raises(StoreError, match="another writer is writing articles right now"):
            rebuild_vectors(store)
        store.catalog.remove(["en-cours"], writer)
    assert _collections(store) == {store.settings.collection}


def test_writes_made_during_the_rebuild_end_up_in_the_new_collection(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("index.rebuild.PAGE", 8)
    other = Store(store.settings)  # another writer on the same store
    done: list[int] = []

    def on_progress(written: int, total: int) -> None:
        if not done:  # after the first page: remove one of its articles, add two new ones
            Ingestor(other).delete(["t0-d1"])
            Ingestor(other).ingest(_articles(range(20, 21))[:2])
        done.append(written)

    try:
        report = rebuild_vectors(store, on_progress)
        assert chroma_ids(store) == catalog_ids(store)
        assert not chroma_ids(store, "t0-d1") and chroma_ids(store, "t1-d20")
        assert report.reconciled >= 1, "t0-d1's chunk was written to the new collection before its removal"
        assert len(done) >= 4
    finally:
        other.close()


def test_writes_made_before_the_swap_end_up_in_the_new_collection(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Written after the main pass read the catalog, to the collection about to be replaced: a new
    article, and an article rewritten under the same chunk ids with another date and text."""
    other = Store(store.settings)  # another writer on the same store, its collection opened already
    assert other.vectors.count() == 32
    real, calls = VectorIndex.rename, []

    def rename(self: VectorIndex, name: str) -> None:
        if not calls:
            Ingestor(other).ingest([*_articles(range(20, 21))[:1], _rewritten()])
        calls.append(name)
        real(self, name)

    monkeypatch.setattr(VectorIndex, "rename", rename)
    try:
        report = rebuild_vectors(store)
        assert calls == [f"{store.settings.collection}-old", store.settings.collection]
        assert chroma_ids(store) == catalog_ids(store)
        assert chroma_ids(store, "t0-d20"), "the new article"
        assert report.reconciled == len(chroma_ids(store, "t0-d20")) + len(chroma_ids(store, "t1-d2"))
        col = store.chroma.get_collection(store.settings.collection)
        [meta] = col.get(ids=["t1-d2:0"], include=["metadatas"])["metadatas"]
        assert meta["date"] == 20240415, "the rewritten article's metadata, not the one the main pass read"
        [hit] = store.search_dense("Le tramway de Grenoble est suspendu pour travaux", 1, Filters())
        assert hit.chunk_id == "t1-d2:0"
        # The other store's handle named the replaced collection: it opens the name again.
        assert {h.chunk_id for h in other.search_dense(QUERIES[0], 3, Filters())} <= chroma_ids(store)
        assert other.vectors._col.id == col.id
    finally:
        other.close()


def test_a_rebuild_stopped_between_its_renames_leaves_the_old_index_answering(store: Store) -> None:
    """A crash after the old collection was renamed aside and before the new one took the name: the
    next opening gives the old one its name back instead of creating an empty collection."""
    before = chroma_ids(store)
    hits = _hits(store)
    store.vectors.rename(retired_name(store.settings.collection))
    store.close()
    again = Store(store.settings)
    try:
        assert chroma_ids(again) == before
        assert _hits(again) == hits
        assert retired_name(store.settings.collection) not in _collections(again)
    finally:
        again.close()


def _rewritten() -> Article:
    return Article(
        id="t1-d2",
        title="Dépêche du 15 avril",
        text="Le tramway de Grenoble est suspendu pour travaux jusqu'à la fin du mois d'avril.",
        source="agence",
        date="2024-04-15",
    )


def _index_folders(store: Store) -> set[str]:
    return {p.name for p in store.settings.chroma_path.iterdir() if p.is_dir()}


def _refuse(texts: list[str]) -> np.ndarray:
    raise AssertionError(f"{len(texts)} chunks embedded again although the catalog kept their vectors")
