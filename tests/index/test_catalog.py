"""The lexical index's term counts and the query pruning that reads them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from index.catalog import Catalog
from index.chunking import chunk_article
from index.models import Article
from index.store import Filters, Store
from index.writers import lease
from veille.settings import Settings


def _write(catalog: Catalog, articles: list[Article]) -> None:
    chunks = [c for a in articles for c in chunk_article(a)]
    with lease() as writer:
        catalog.claim(articles, writer, stale_after_s=60)
        catalog.complete(articles, chunks, writer, None)


def _remove(catalog: Catalog, ids: list[str]) -> None:
    with lease() as writer:
        catalog.claim_ids(ids, writer, stale_after_s=60)
        catalog.remove(ids, writer)


def _stored_and_recounted(path: Path) -> tuple[dict[str, int], dict[str, int]]:
    """term_df, and the document counts FTS5 itself reports for the tokens it indexed."""
    db = sqlite3.connect(path)
    try:
        stored = dict(db.execute("SELECT term, df FROM term_df").fetchall())
        db.execute("CREATE VIRTUAL TABLE temp.vocab USING fts5vocab(main, chunks_fts, 'row')")
        return stored, dict(db.execute("SELECT term, doc FROM temp.vocab").fetchall())
    finally:
        db.close()


def _weather(i: int) -> Article:
    # "mot_clé": one word to Python's \w, two tokens to FTS5; the counts must be FTS5's.
    return Article(id=f"meteo-{i}", title="Météo", text=f"La pluie tombe sur la ville numéro {i}, mot_clé ce matin.")


def test_term_counts_follow_writes_rewrites_and_removals(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    catalog = Catalog(path)
    try:
        _write(catalog, [_weather(i) for i in range(5)])
        stored, recount = _stored_and_recounted(path)
        assert stored == recount and stored["plui"] == 5 and stored["mot"] == 5
        # Rewriting an article replaces its terms; removing one takes its terms out.
        _write(catalog, [Article(id="meteo-0", title="Météo", text="Le soleil revient sur la ville ce matin.")])
        _remove(catalog, ["meteo-1"])
        stored, recount = _stored_and_recounted(path)
        assert stored == recount
        assert stored["plui"] == 3 and stored["soleil"] == 1
        assert "1" not in stored, "a term no chunk holds any more is dropped"
    finally:
        catalog.close()


def test_a_store_from_before_term_counts_is_counted_once_on_open(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    catalog = Catalog(path)
    _write(catalog, [_weather(i) for i in range(3)])
    catalog.close()
    db = sqlite3.connect(path)
    db.execute("DROP TABLE term_df")
    db.execute("DELETE FROM meta WHERE key = 'term_df'")
    db.commit()
    db.close()

    Catalog(path).close()
    stored, recount = _stored_and_recounted(path)
    assert stored == recount and stored["plui"] == 3


def test_a_postings_budget_searches_the_rarest_terms(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path / "c.sqlite3")
    try:
        _write(catalog, [_weather(i) for i in range(20)])
        _write(catalog, [Article(id="grele", title="Orage", text="La grêle a frappé les vignes de la ville hier.")])

        def articles(query: str, max_postings: int) -> set[str]:
            return {h.chunk_id.split(":")[0] for h in catalog.search(query, 50, max_postings=max_postings)}

        # "ville" is in all 21 articles, "grêle" in one: under a budget of 5 postings only "grêle" is searched.
        assert len(articles("grêle ville", 0)) == 21
        assert articles("grêle ville", 5) == {"grele"}
        assert len(articles("grêle ville", 25)) == 21, "both terms fit in 1 + 21 postings"
        # The rarest term the corpus holds is searched even when it alone is over the budget,
        # and a term the corpus lacks does not take its place.
        assert len(articles("ville", 5)) == 21
        assert len(articles("zeppelin ville", 5)) == 21
    finally:
        catalog.close()


def _storm(i: int, hail: int) -> Article:
    return Article(
        id=f"orage-{i}", title="Orage", date=f"2024-03-{1 + i % 28:02d}",
        text=" ".join(["La grêle a frappé les vignes."] * hail + [f"Bilan numéro {i} dans la ville, pluie ce matin."]),
    )  # fmt: skip


def test_ranking_inside_the_index_first_finds_what_the_joined_query_finds(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path / "c.sqlite3")
    try:
        _write(catalog, [_storm(i, 1 + i % 4) for i in range(40)])
        for query in ("grêle", "grêle ville pluie", "vignes matin", "pluie"):
            for limit in (1, 5, 50):
                ranked_first = [(h.chunk_id, round(h.score, 9)) for h in catalog.search(query, limit)]
                # A date filter every article passes takes the joined query.
                joined = [(h.chunk_id, round(h.score, 9)) for h in catalog.search(query, limit, since=20000101)]
                assert ranked_first == joined and len(ranked_first) >= min(limit, 40)  # all 40 match each
    finally:
        catalog.close()


def test_the_chunks_of_an_article_being_rewritten_are_never_found(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path / "c.sqlite3")
    try:
        # Ten articles that rank first for "grêle" are being rewritten (pending, old chunks still
        # indexed); three weaker ones are complete.
        _write(catalog, [_storm(i, 4) for i in range(10)] + [_storm(i, 1) for i in range(10, 13)])
        with lease() as writer:
            assert len(catalog.claim([_storm(i, 4) for i in range(10)], writer, stale_after_s=60)) == 10
            expected = {"orage-10:0", "orage-11:0", "orage-12:0"}
            assert {h.chunk_id for h in catalog.search("grêle", 3)} == expected
            assert {h.chunk_id for h in catalog.search("grêle", 50)} == expected
    finally:
        catalog.close()


def test_the_store_searches_under_the_configured_budget(tmp_path: Path) -> None:
    store = Store(Settings(data_dir=tmp_path, lexical_max_postings=5))
    try:
        _write(store.catalog, [_weather(i) for i in range(20)])
        _write(store.catalog, [Article(id="grele", title="Orage", text="La grêle a frappé les vignes de la ville.")])
        hits = store.search_lexical("grêle ville", 50, Filters())
        assert [h.chunk_id for h in hits] == ["grele:0"]
    finally:
        store.close()


def test_look_ups_by_id_use_the_primary_key_not_a_scan_of_complete_articles(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    Catalog(path).close()
    db = sqlite3.connect(path)
    db.execute("CREATE INDEX articles_state ON articles(state)")  # what stores before the fix had
    db.commit()
    db.close()

    Catalog(path).close()
    db = sqlite3.connect(path)
    try:
        indexes = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert "articles_state" not in indexes and "articles_pending" in indexes
        # A page of results' worth of ids: the look-up Store.chunks makes for every query.
        ids = [f"a{i}" for i in range(50)]
        marks = ",".join("?" * len(ids))
        plans = [
            " ".join(str(r[3]) for r in db.execute(f"EXPLAIN QUERY PLAN {sql}", ids))
            for sql in (
                f"SELECT * FROM articles WHERE state = 'complete' AND id IN ({marks})",
                f"SELECT c.id FROM chunks c JOIN articles a ON a.id = c.article_id "
                f"WHERE a.state = 'complete' AND c.id IN ({marks})",
            )
        ]
        # Articles are reached by their primary key, never through an index on their state.
        assert all("(state=?)" not in p and "sqlite_autoindex_articles" in p for p in plans), plans
    finally:
        db.close()


def test_counts_and_sources_see_complete_articles_only(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path / "c.sqlite3")
    try:
        old = Article(id="old", text="Une vieille dépêche sur la pluie.", date="2019-03-01", source="afp")
        new = Article(id="new", text="Une dépêche récente sur la pluie.", date="2020-05-02", source="afp")
        _write(catalog, [old, new])
        with lease() as writer:  # a writer that never completes: pending, with a later date and a new source
            catalog.claim(
                [Article(id="wip", text="En cours d'écriture.", date="2021-01-01", source="lemonde")], writer, 60
            )
            assert catalog.counts() == {
                "articles_complete": 2,
                "articles_pending": 1,
                "chunks": 2,
                "first_date": 20190301,
                "last_date": 20200502,
            }
            assert catalog.has_sources(["afp", "lemonde", "afp"]) == {"afp"}
    finally:
        catalog.close()


def test_vectors_are_kept_with_their_chunks_through_rewrites_and_removals(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path / "c.sqlite3")

    def write(articles: list[Article], seed: int) -> dict[str, bytes]:
        chunks = [c for a in articles for c in chunk_article(a)]
        vectors = np.random.default_rng(seed).normal(size=(len(chunks), 8)).astype(np.float32)
        with lease() as writer:
            catalog.claim(articles, writer, stale_after_s=60)
            catalog.complete(articles, chunks, writer, vectors)
        return {c.id: v.tobytes() for c, v in zip(chunks, vectors, strict=True)}

    try:
        dated = [
            Article(id=f"a{i}", text=f"Texte numéro {i}.", date=f"2024-05-{i + 1:02d}", source="s") for i in range(6)
        ]
        written = write(dated, seed=1)
        written.update(write([Article(id="a2", text="Autre texte.", date="2024-05-03", source="s")], seed=2))
        _remove(catalog, ["a3"])
        found = catalog.vectors_in(None, None, None, dim=8)
        assert found is not None
        ids, matrix = found
        assert sorted(ids) == sorted(c for c in written if not c.startswith("a3:"))
        assert all(matrix[i].tobytes() == written[cid] for i, cid in enumerate(ids)), "the rewrite's vector"
        # The window, and only complete articles: one claimed for a rewrite is left out.
        with lease() as writer:
            catalog.claim_ids(["a1"], writer, stale_after_s=60)
            window = catalog.vectors_in(20240501, 20240503, ["s"], dim=8)
        assert window is not None and sorted(window[0]) == ["a0:0", "a2:0"]
        assert catalog.estimate_chunks(20240501, 20240503, ["s"]) == (3.0, 5)  # the pending one counted
        assert catalog.estimate_chunks(20240501, 20240503, ["autre"]) == (0.0, 5)
        db = sqlite3.connect(tmp_path / "c.sqlite3")
        try:
            counts = [db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("chunks", "chunk_vectors")]
        finally:
            db.close()
        assert counts == [5, 5]
    finally:
        catalog.close()


def test_copies_follow_their_chunks_and_are_copied_once(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path / "c.sqlite3")
    rows = np.eye(4, dtype=np.float32)
    articles = [Article(id=f"b{i}", text=f"Brève {i}.") for i in range(4)]
    chunks = [c for a in articles for c in chunk_article(a)]
    try:
        with lease() as first, lease() as second:
            catalog.claim(articles[:2], first, stale_after_s=60)
            catalog.claim(articles[2:], second, stale_after_s=60)
            # One call with the chunks of both writers: each chunk keeps its own row of `rows`.
            assert catalog.complete(articles, chunks, first, rows) == {"b0", "b1"}
            assert catalog.complete(articles, chunks, second, None) == {"b2", "b3"}
        found = catalog.vectors_in(None, None, None, dim=4)
        assert found is None, "b2 and b3 have no copy: the caller must ask Chroma"
        assert catalog.vectors_in(None, None, None, dim=3) is None  # another embedder's size
        # The copying walks the chunks without a copy, a page at a time, past a cursor.
        assert catalog.chunks_without_vectors(limit=1) == [(3, "b2:0")]
        assert catalog.chunks_without_vectors(after=3, limit=1) == [(4, "b3:0")]
        assert catalog.chunks_without_vectors(after=4) == []
        # A chunk that has a copy keeps it; a pending article gets none.
        assert catalog.add_vectors({"b0:0": rows[3], "b2:0": rows[2]}, dim=4) == 1
        with pytest.raises(ValueError, match="another size than 4 for b2:0"):
            catalog.add_vectors({"b2:0": rows[2][:3]}, dim=4)  # a good copy is never replaced by a bad one
        with lease() as writer:
            catalog.claim_ids(["b3"], writer, stale_after_s=60)
            assert catalog.add_vectors({"b3:0": rows[3]}, dim=4) == 0
            catalog.remove(["b3"], writer)
        found = catalog.vectors_in(None, None, None, dim=4)
        assert found is not None
        assert {cid: int(np.argmax(v)) for cid, v in zip(*found, strict=True)} == {"b0:0": 0, "b1:0": 1, "b2:0": 2}
        assert not catalog.vectors_copied()
        catalog.finish_copying_vectors()
        assert catalog.vectors_copied()
    finally:
        catalog.close()
