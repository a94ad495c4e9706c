"""Hybrid retrieval over the real store: ranking, modes, filters, and the LangChain retriever."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from langchain_core.documents import Document

from index.embedders import Embedder
from index.ingest import Ingestor
from index.readers import ReadOptions, read_inputs
from index.store import Filters, Store
from rag.langchain_retriever import VeilleRetriever
from rag.retrieval import HybridRetriever, Passage, QueryError
from tests.conftest import SampleStore
from tests.helpers import DMITRIEV_QUERY, SAMPLE_SOURCES, SHORT_ARTICLES, make_settings, write_short_articles

MODES = ("rrf", "dense", "lexical")


@pytest.fixture(scope="module")
def retriever(sample_store: SampleStore) -> HybridRetriever:
    return HybridRetriever(sample_store.store)


def _assert_exact_passage(store: Store, p: Passage) -> None:
    record = store.article(p.article_id)
    assert record is not None
    assert p.text == record.text[p.start : p.end] != ""
    assert p.chunk_id.startswith(f"{p.article_id}:")
    assert (p.title, p.source, p.date, p.url, p.lang) == (record.title, record.source, record.date, record.url, "fr")


# -- the sample corpus ---------------------------------------------------------------------


def test_who_leads_the_russian_delegation(retriever: HybridRetriever, sample_store: SampleStore) -> None:
    passages = retriever.retrieve(DMITRIEV_QUERY)
    assert passages, "no passage for the question"
    assert "Dmitriev" in passages[0].text
    assert len(passages) == 5, "top_k defaults to 5"
    assert [p.score for p in passages] == sorted((p.score for p in passages), reverse=True)
    for p in passages:
        _assert_exact_passage(sample_store.store, p)
    assert passages[0].dense_rank is not None and passages[0].lexical_rank is not None


@pytest.mark.parametrize("mode", MODES)
def test_each_mode_finds_the_passage(retriever: HybridRetriever, sample_store: SampleStore, mode: str) -> None:
    passages = retriever.retrieve("Kirill Dmitriev, représentant spécial", k=3, mode=mode)
    assert 1 <= len(passages) <= 3
    assert "Dmitriev" in passages[0].text
    for p in passages:
        _assert_exact_passage(sample_store.store, p)
        if mode == "dense":
            assert p.dense_rank is not None and p.lexical_rank is None
            assert -1.0 <= p.score <= 1.0, "dense mode scores are cosine similarities"
        elif mode == "lexical":
            assert p.lexical_rank is not None and p.dense_rank is None
        else:
            c = sample_store.settings.rrf_k
            expected = sum(1 / (c + r) for r in (p.dense_rank, p.lexical_rank) if r is not None)
            assert p.score == pytest.approx(expected), "rrf scores are sums of 1/(rrf_k + rank)"


def test_lexical_mode_needs_a_matching_term(retriever: HybridRetriever) -> None:
    assert retriever.retrieve("xylophone zanzibar", mode="lexical") == []
    assert retriever.retrieve("le la les de", mode="lexical") == []
    # the dense side always finds neighbours
    assert retriever.retrieve("xylophone zanzibar", mode="dense")


def test_k_limits_the_passages(retriever: HybridRetriever) -> None:
    assert len(retriever.retrieve(DMITRIEV_QUERY, k=2)) == 2
    everything = retriever.retrieve(DMITRIEV_QUERY, k=100)
    assert len(everything) == len({p.chunk_id for p in everything}) == retriever.store.catalog.counts()["chunks"]


@pytest.mark.parametrize("mode", MODES)
def test_date_filters_on_the_sample(retriever: HybridRetriever, mode: str) -> None:
    day = date(2025, 12, 18)
    assert retriever.retrieve(DMITRIEV_QUERY, filters=Filters(since=date(2025, 12, 19)), mode=mode) == []
    assert retriever.retrieve(DMITRIEV_QUERY, filters=Filters(until=date(2025, 12, 17)), mode=mode) == []
    inside = retriever.retrieve(DMITRIEV_QUERY, filters=Filters(since=day, until=day), mode=mode)
    assert inside and all(p.date == "2025-12-18" for p in inside)


@pytest.mark.parametrize("mode", MODES)
def test_source_filter_on_the_sample(retriever: HybridRetriever, mode: str) -> None:
    for source in SAMPLE_SOURCES:
        passages = retriever.retrieve(DMITRIEV_QUERY, k=10, filters=Filters(sources=(source,)), mode=mode)
        assert passages and {p.source for p in passages} == {source}
    both = retriever.retrieve(DMITRIEV_QUERY, k=10, filters=Filters(sources=SAMPLE_SOURCES), mode=mode)
    assert {p.source for p in both} == set(SAMPLE_SOURCES)


def test_unknown_source_lists_the_known_ones(retriever: HybridRetriever) -> None:
    with pytest.raises(ValueError, match="unknown source") as info:
        retriever.retrieve(DMITRIEV_QUERY, filters=Filters(sources=("le-monde",)))
    message = str(info.value)
    assert "le-monde" in message
    assert all(s in message for s in SAMPLE_SOURCES)


def test_filters_refuse_since_after_until() -> None:
    with pytest.raises(ValueError, match="is after"):
        Filters(since=date(2025, 12, 19), until=date(2025, 12, 18))


@pytest.mark.parametrize(
    ("query", "kwargs", "message"),
    [
        ("   ", {}, "the query is empty"),
        (DMITRIEV_QUERY, {"k": 101}, "k must be between 1 and 100"),
        (DMITRIEV_QUERY, {"k": -1}, "k must be between 1 and 100"),
        (DMITRIEV_QUERY, {"mode": "bm25"}, "unknown retrieval mode 'bm25'"),
    ],
)
def test_bad_queries_raise_query_error(retriever: HybridRetriever, query: str, kwargs: dict, message: str) -> None:
    with pytest.raises(QueryError, match=message):
        retriever.retrieve(query, **kwargs)


def test_recency_weighting(retriever: HybridRetriever) -> None:
    plain = {p.chunk_id: p.score for p in retriever.retrieve(DMITRIEV_QUERY, k=3)}
    aged = retriever.retrieve(DMITRIEV_QUERY, k=3, recency_half_life_days=10, as_of=date(2025, 12, 28))
    assert {p.chunk_id for p in aged} == set(plain)
    for p in aged:
        assert p.score == pytest.approx(plain[p.chunk_id] * 0.5)
    future = retriever.retrieve(DMITRIEV_QUERY, k=3, recency_half_life_days=10, as_of=date(2025, 1, 1))
    assert {p.chunk_id: p.score for p in future} == pytest.approx(plain), "no boost for future dates"


# -- filters that discriminate: articles with different dates and sources --------------------


@pytest.fixture(scope="module")
def dated_store(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[Store]:
    folder = tmp_path_factory.mktemp("dated-in")
    write_short_articles(folder)
    store = Store(make_settings(tmp_path_factory.mktemp("dated-data")))
    report = Ingestor(store).ingest(read_inputs([folder], ReadOptions()))
    assert sorted(report.added) == sorted(SHORT_ARTICLES)
    yield store
    store.close()


@pytest.mark.parametrize("mode", MODES)
def test_date_and_source_filters_exclude_the_best_match(dated_store: Store, mode: str) -> None:
    retriever = HybridRetriever(dated_store)
    query = "les vendanges en Bourgogne"
    assert retriever.retrieve(query, k=1, mode=mode)[0].article_id == "vendanges-2023"

    later = retriever.retrieve(query, k=10, mode=mode, filters=Filters(since=date(2024, 1, 1)))
    assert all(p.date >= "2024-01-01" for p in later)
    assert "vendanges-2023" not in {p.article_id for p in later}

    earlier = retriever.retrieve("glaciers des Alpes", k=10, mode="dense", filters=Filters(until=date(2024, 12, 31)))
    assert {p.article_id for p in earlier} == {"vendanges-2023", "tgv-2024"}

    window = retriever.retrieve(
        "glaciers vendanges ligne", k=10, mode=mode, filters=Filters(since=date(2024, 5, 2), until=date(2024, 5, 2))
    )
    assert {p.article_id for p in window} == {"tgv-2024"}

    two_sources = Filters(sources=("montagne-hebdo", "rail-info"))
    by_source = retriever.retrieve("glaciers vendanges ligne", k=10, mode=mode, filters=two_sources)
    assert {p.source for p in by_source} == {"montagne-hebdo", "rail-info"}
    assert retriever.retrieve(query, k=10, mode="lexical", filters=two_sources) == []


def test_unknown_source_on_the_dated_store(dated_store: Store) -> None:
    with pytest.raises(ValueError) as info:
        HybridRetriever(dated_store).retrieve("vendanges", filters=Filters(sources=("journal-du-vin", "inconnu")))
    assert "unknown source(s): inconnu;" in str(info.value)
    assert "known sources: journal-du-vin, montagne-hebdo, rail-info" in str(info.value)


def test_an_empty_store_returns_nothing(tmp_path: Path, embedder: Embedder) -> None:
    store = Store(make_settings(tmp_path / "data"))
    try:
        for mode in MODES:
            assert HybridRetriever(store).retrieve("vendanges", mode=mode) == []
        with pytest.raises(ValueError, match="known sources: none yet"):
            HybridRetriever(store).retrieve("vendanges", filters=Filters(sources=("x",)))
    finally:
        store.close()


# -- LangChain -----------------------------------------------------------------------------


def test_langchain_retriever_returns_documents_with_metadata_and_spans(
    retriever: HybridRetriever, sample_store: SampleStore
) -> None:
    docs = VeilleRetriever(retriever=retriever, k=3).invoke(DMITRIEV_QUERY)
    assert len(docs) == 3 and all(isinstance(d, Document) for d in docs)
    assert "Dmitriev" in docs[0].page_content
    expected = [p.chunk_id for p in retriever.retrieve(DMITRIEV_QUERY, k=3)]
    assert [d.id for d in docs] == expected
    for d in docs:
        meta = d.metadata
        assert set(meta) >= {
            "chunk_id",
            "article_id",
            "title",
            "source",
            "url",
            "date",
            "lang",
            "start",
            "end",
            "score",
        }
        assert meta["chunk_id"] == d.id
        record = sample_store.store.article(meta["article_id"])
        assert record is not None
        assert d.page_content == record.text[meta["start"] : meta["end"]]
        assert (meta["title"], meta["source"], meta["date"]) == (record.title, record.source, "2025-12-18")


def test_langchain_retriever_passes_filters_and_mode(retriever: HybridRetriever) -> None:
    politico = VeilleRetriever(
        retriever=retriever, k=10, filters=Filters(sources=("exemple-relais-politico",)), mode="lexical"
    )
    docs = politico.invoke("Dmitriev")
    assert docs and {d.metadata["source"] for d in docs} == {"exemple-relais-politico"}
    nothing = VeilleRetriever(retriever=retriever, filters=Filters(since=date(2026, 1, 1)))
    assert nothing.invoke(DMITRIEV_QUERY) == []
