"""The vectors held in memory follow the catalog: what another writer or this store adds, changes or
deletes is searched as Chroma's filter would search it, and a store that cannot be held is left to Chroma."""

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
from tests.helpers import make_settings

TEXTS = (
    "Les pompiers luttent contre un incendie de forêt dans les Landes depuis trois jours.",
    "La banque centrale relève ses taux d'intérêt pour freiner l'inflation.",
    "Un nouveau vaccin contre la grippe est autorisé par l'agence européenne.",
    "Le tribunal condamne l'ancien maire pour favoritisme dans l'attribution de marchés publics.",
)
QUERY = "incendie de forêt, les pompiers mobilisés"
WINDOWS = (
    Filters(since=date(2024, 5, 3), until=date(2024, 5, 6)),
    Filters(sources=("gazette",)),
    Filters(until=date(2024, 5, 4), sources=("gazette", "inconnue")),
)


def _article(t: int, day: int, text: str | None = None, **over: str) -> Article:
    fields: dict[str, Any] = {
        "id": f"a{t}-{day}",
        "title": f"Nouvelles du {day} mai",
        "text": text or f"{TEXTS[t]} Point du {day} mai.",
        "source": "gazette" if day % 2 else "courrier",
        "date": f"2024-05-{day:02d}",
    }
    return Article(**{**fields, **over})


@pytest.fixture
def stores(tmp_path: Path, embedder: Embedder) -> Iterator[tuple[Store, Store, Store]]:
    """One store's data read from memory (two stores: one writes, one only reads) and by Chroma's filter."""
    path = tmp_path / "data"
    held = Store(make_settings(path))
    assert len(Ingestor(held).ingest([_article(t, d) for t in range(4) for d in range(1, 9)]).added) == 32
    reader = Store(make_settings(path))
    chroma = Store(make_settings(path, dense_exact_max_chunks=0, dense_resident_max_chunks=0))
    yield held, reader, chroma
    for s in (held, reader, chroma):
        s.close()


def _same_hits(ours: Store, chroma: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every window, searched without asking Chroma, gives Chroma's filtered hits."""
    calls: list[Any] = []
    monkeypatch.setattr(ours.vectors, "search", lambda *a, **k: calls.append(a))
    for filters in WINDOWS:
        got = ours.search_dense(QUERY, 8, filters)
        expected = chroma.search_dense(QUERY, 8, filters)
        assert [h.chunk_id for h in got] == [h.chunk_id for h in expected]
        assert np.allclose([h.score for h in got], [h.score for h in expected], atol=1e-5)
    assert calls == [], "answered from memory"
    monkeypatch.undo()


def test_what_is_written_after_loading_is_searched_like_chromas_filter(
    stores: tuple[Store, Store, Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    held, reader, chroma = stores
    for s in (held, reader):
        _same_hits(s, chroma, monkeypatch)
    assert reader.resident is not None and reader.resident.rows == 32

    fires = [_article(0, d, f"Incendie de forêt : les pompiers des Landes épuisés, jour {d}.") for d in (3, 4, 5)]
    moved = _article(1, 2, date="2024-05-05")  # same text, another day: the date filter must follow
    added = _article(0, 5, "Les pompiers maîtrisent l'incendie de forêt des Landes.", id="new", source="gazette")
    report = Ingestor(held).ingest([*fires, moved, added])
    assert (len(report.replaced), len(report.added)) == (4, 1)
    assert Ingestor(held).delete(["a2-1", "a2-2", "a2-3", "a3-4"])[0] == ["a2-1", "a2-2", "a2-3", "a3-4"]
    for s in (held, reader):  # this store's own writes, and another connection's
        _same_hits(s, chroma, monkeypatch)
    found = {h.chunk_id.split(":")[0] for h in reader.search_dense(QUERY, 40, Filters(since=date(2024, 5, 5)))}
    assert "new" in found and "a1-2" in found and not found & {"a2-1", "a2-2", "a2-3", "a3-4"}
    assert reader.resident.rows == 29

    # Replacing most of the store compacts the matrix; the hits stay Chroma's.
    Ingestor(held).ingest([_article(t, d, f"{TEXTS[t]} Mise à jour {d}.") for t in (0, 1) for d in range(1, 9)])
    _same_hits(reader, chroma, monkeypatch)
    assert reader.resident.rows == 29 and len(reader.resident._ids) == 29


def test_a_store_that_cannot_be_held_is_searched_by_chroma(
    stores: tuple[Store, Store, Store], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    held, _, chroma = stores
    expected = chroma.search_dense(QUERY, 5, WINDOWS[0])
    path = held.settings.data_dir
    small = Store(make_settings(path, dense_resident_max_chunks=31, dense_exact_max_chunks=0))
    try:
        assert small.search_dense(QUERY, 5, WINDOWS[0]) == expected
        assert small.resident is not None and small.resident.rows == 0, "32 chunks, 31 allowed: nothing held"
    finally:
        small.close()

    # A chunk whose vector was never copied into the catalog (written by an older version).
    db = sqlite3.connect(path / "veille.sqlite3")
    db.execute("DELETE FROM chunk_vectors WHERE rowid = (SELECT MIN(rowid) FROM chunk_vectors)")
    db.commit()
    db.close()
    fresh = Store(make_settings(path, dense_exact_max_chunks=0))
    try:
        calls: list[Any] = []
        real = fresh.vectors.search

        def search(*args: Any, **kwargs: Any) -> Any:
            calls.append(args)
            return real(*args, **kwargs)

        monkeypatch.setattr(fresh.vectors, "search", search)
        assert fresh.search_dense(QUERY, 5, WINDOWS[0]) == expected
        assert len(calls) == 1 and fresh.resident is not None and fresh.resident.rows == 0
    finally:
        fresh.close()


def test_a_pending_article_is_hidden_and_a_store_held_again_once_it_can_be(
    stores: tuple[Store, Store, Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    held, reader, chroma = stores
    _same_hits(reader, chroma, monkeypatch)
    assert reader.search_dense(QUERY, 5, WINDOWS[0]) and reader.search_dense(QUERY, 0, WINDOWS[0]) == []
    assert reader.search_dense(QUERY, 5, Filters(sources=("inconnue",))) == []

    # An article being rewritten (pending) is never found, even before its chunks change.
    window = Filters(since=date(2024, 5, 3), until=date(2024, 5, 3))
    assert "a0-3" in {h.chunk_id.split(":")[0] for h in reader.search_dense(QUERY, 40, window)}
    assert held.catalog.claim_ids(["a0-3"], "another-writer", 600) == {"a0-3"}
    found = {h.chunk_id.split(":")[0] for h in reader.search_dense(QUERY, 40, window)}
    assert found and "a0-3" not in found

    # Vectors no longer all copied into the catalog: nothing held (the paths for such stores answer);
    # held again once they are.
    db = sqlite3.connect(held.settings.sqlite_path)
    db.execute("DELETE FROM meta WHERE key = 'chunk_vectors'")
    db.commit()
    fallback = [h.chunk_id for h in reader.search_dense(QUERY, 5, WINDOWS[1])]
    assert reader.resident is not None and reader.resident.rows == 0
    db.execute("INSERT INTO meta VALUES ('chunk_vectors', 'copied')")
    db.commit()
    db.close()
    got = [h.chunk_id for h in reader.search_dense(QUERY, 5, WINDOWS[1])]
    assert reader.resident.rows == 31, "every complete chunk, the pending one left out"
    expected = [h.chunk_id for h in chroma.search_dense(QUERY, 6, WINDOWS[1]) if not h.chunk_id.startswith("a0-3:")]
    assert got == fallback == expected[:5]
