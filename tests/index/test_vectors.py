"""Filtered dense search: every chunk held in memory and scored exactly, or the window's chunks scored
exactly from the catalog's vectors, the same hits Chroma's filtered search gives, and Chroma again when
the window is wide or a vector is missing."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from index.embedders import Embedder
from index.ingest import Ingestor
from index.models import Article
from index.store import Filters, Store
from index.vectors import exact_search
from tests.helpers import make_settings

TOPICS = (
    "La grêle a détruit les vignes du Bordelais, les viticulteurs demandent une aide de l'État.",
    "Le conseil municipal de Lyon vote la gratuité des transports pour les moins de dix-huit ans.",
    "Une délégation russe dirigée par un banquier rencontre des négociateurs américains à Genève.",
    "Les urgences de l'hôpital de Nantes ferment la nuit faute de médecins.",
    "Le prix du blé atteint un record après une récolte médiocre en Ukraine.",
)
QUERIES = ("Qui mène la délégation russe ?", "aide aux viticulteurs après la grêle", "hôpital fermé la nuit")


def _articles() -> list[Article]:
    """Each topic on several days and from two sources: windows hold some chunks of every topic."""
    return [
        Article(
            id=f"t{t}-d{day}",
            title=f"Dépêche {day}",
            text=f"{text} Compte rendu du {day} mars.",
            source="agence" if day % 2 else "journal",
            date=f"2024-03-{day:02d}",
        )
        for t, text in enumerate(TOPICS)
        for day in range(1, 13)
    ]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Path:
    path = tmp_path_factory.mktemp("exact") / "data"
    store = Store(make_settings(path))
    try:
        report = Ingestor(store).ingest(_articles())
        assert len(report.added) == len(TOPICS) * 12
    finally:
        store.close()
    return path


@pytest.fixture
def stores(data_dir: Path) -> Iterator[tuple[Store, Store, Store]]:
    """The same data read with the matrix in memory (the default), without it (the catalog's copies
    and Chroma), and with Chroma's filter only."""
    held = Store(make_settings(data_dir))
    exact = Store(make_settings(data_dir, dense_resident_max_chunks=0))
    chroma = Store(make_settings(data_dir, dense_exact_max_chunks=0, dense_resident_max_chunks=0))
    yield held, exact, chroma
    for s in (held, exact, chroma):
        s.close()


def _chroma_searches(store: Store, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The calls to Chroma's search from now on (each one's positional arguments), made as usual."""
    calls: list[Any] = []
    real = store.vectors.search

    def search(*args: Any, **kwargs: Any) -> list[Any]:
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(store.vectors, "search", search)
    return calls


WINDOWS = (
    Filters(since=date(2024, 3, 3), until=date(2024, 3, 5)),
    Filters(since=date(2024, 3, 10)),
    Filters(until=date(2024, 3, 2), sources=("agence",)),
    Filters(sources=("journal",)),
)


@pytest.mark.parametrize("path", ["in memory", "exact", "over-fetched"])
@pytest.mark.parametrize("filters", WINDOWS, ids=["range", "since", "until+source", "source"])
def test_a_filtered_search_finds_what_chromas_filter_finds(
    stores: tuple[Store, Store, Store], filters: Filters, path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    held, exact, chroma = stores
    ours = held if path == "in memory" else exact
    for query in QUERIES:
        expected = chroma.search_dense(query, 10, filters)
        if path == "exact":
            monkeypatch.setattr("index.store.MAX_OVERFETCH", 0)
        calls = _chroma_searches(ours, monkeypatch)
        got = ours.search_dense(query, 10, filters)
        if path != "over-fetched":
            assert calls == [], "scored from memory or from the catalog, not by Chroma"
        else:  # this store is small: every window is a large share of it
            assert [len(c) for c in calls] == [2], "one unfiltered search, no filter for Chroma"
        assert [h.chunk_id for h in got] == [h.chunk_id for h in expected]
        assert np.allclose([h.score for h in got], [h.score for h in expected], atol=1e-5)
        monkeypatch.undo()
    # Every hit is inside the window.
    inside = {a.id for a in ours.articles(filters)}
    assert all(h.chunk_id.split(":")[0] in inside for h in ours.search_dense(QUERIES[0], 60, filters))


def test_a_wide_window_is_searched_unfiltered_then_filtered(
    stores: tuple[Store, Store, Store], data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    *_, chroma = stores
    wide = Filters(since=date(2024, 3, 10))  # 15 of the 60 chunks: over the setting below
    store = Store(make_settings(data_dir, dense_exact_max_chunks=10, dense_resident_max_chunks=0))
    try:
        for query in QUERIES:
            expected = chroma.search_dense(query, 5, wide)
            calls = _chroma_searches(store, monkeypatch)
            got = store.search_dense(query, 5, wide)
            assert [c[1:] for c in calls] == [(40,)], "one unfiltered search: 2 × 5 hits / a quarter of the store"
            assert [h.chunk_id for h in got] == [h.chunk_id for h in expected]
            # When the over-fetch would be too large, Chroma's filter.
            monkeypatch.setattr("index.store.MAX_OVERFETCH", 10)
            store.search_dense(query, 5, wide)
            assert calls[-1][1:] == (5, 20240310, None, ())
            monkeypatch.undo()
        # Too few of the nearest inside the window (an over-fetch of 2 for 5 hits): Chroma's filter.
        calls = _chroma_searches(store, monkeypatch)
        monkeypatch.setattr("index.store.OVERFETCH", 0.1)
        got = store.search_dense(QUERIES[0], 5, Filters(until=date(2024, 3, 6), sources=("agence",)))
        assert [len(c) for c in calls] == [2, 5], "the unfiltered search, then the filtered one"
        assert len(got) == 5
    finally:
        store.close()


def test_chunks_written_without_a_copy_of_their_vector_are_backfilled_from_chroma(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A copy of the store as an older version would leave it: a chunk without a copy of its vector,
    # a copy whose chunk is gone, no record of the copying.
    import shutil

    copy = tmp_path / "data"
    shutil.copytree(data_dir, copy)
    store = Store(make_settings(copy, dense_resident_max_chunks=0))
    exact_only = pytest.MonkeyPatch()
    exact_only.setattr("index.store.MAX_OVERFETCH", 0)
    try:
        expected = store.search_dense(QUERIES[0], 5, WINDOWS[0])
        db = sqlite3.connect(copy / "veille.sqlite3")
        (rowid, vec), *_ = db.execute(
            "SELECT v.rowid, v.vec FROM chunk_vectors v JOIN chunks c ON c.rowid = v.rowid WHERE c.article_id = 't2-d4'"
        ).fetchall()
        db.execute("DELETE FROM chunk_vectors WHERE rowid = ?", (rowid,))
        db.execute("INSERT INTO chunk_vectors VALUES (999999, ?)", (vec,))
        db.execute("DELETE FROM meta WHERE key = 'chunk_vectors'")
        db.commit()

        calls = _chroma_searches(store, monkeypatch)
        store.search_dense(QUERIES[0], 5, WINDOWS[0])
        assert len(calls) == 1, "a window with a chunk lacking its vector is searched by Chroma"
        monkeypatch.undo()

        assert Ingestor(store).backfilled == 1
        assert db.execute("SELECT vec FROM chunk_vectors WHERE rowid = ?", (rowid,)).fetchone()[0] == vec
        assert db.execute("SELECT 1 FROM chunk_vectors WHERE rowid = 999999").fetchone() is None
        db.close()
        calls = _chroma_searches(store, monkeypatch)
        assert store.search_dense(QUERIES[0], 5, WINDOWS[0]) == expected
        assert calls == []
        assert Ingestor(store).backfilled == 0
    finally:
        exact_only.undo()
        store.close()


def test_exact_search_ranks_by_cosine_and_keeps_the_limit() -> None:
    matrix = np.array([[1, 0], [0, 2], [3, 3], [0, 0]], dtype=np.float32)
    hits = exact_search(np.array([0.1, 1.0], dtype=np.float32), ["a", "b", "c", "zero"], matrix, 3)
    assert [h.chunk_id for h in hits] == ["b", "c", "a"]
    assert [round(h.score, 3) for h in hits] == [0.995, 0.774, 0.1]
    assert len(exact_search(np.ones(2, dtype=np.float32), ["a", "b", "c", "zero"], matrix, 10)) == 4
    assert exact_search(np.ones(2, dtype=np.float32), [], np.zeros((0, 2), dtype=np.float32), 5) == []
