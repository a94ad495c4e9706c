"""The reranker slot: a reranker registered by name reorders what search, answers and briefs read."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import ClassVar

import pytest

from rag.answers.answer import Answerer
from rag.rerank import RERANKERS, Reranker
from rag.retrieval import HybridRetriever, Passage
from rag.service import Veille
from tests.conftest import SampleStore
from veille.settings import Settings


class Reverse:
    """A toy reranker: the fused order upside down, and every query it saw."""

    seen: ClassVar[list[str]] = []

    def rerank(self, query: str, passages: Sequence[Passage]) -> list[Passage]:
        Reverse.seen.append(query)
        return list(reversed(passages))


@pytest.fixture
def reverse() -> Iterator[str]:
    @RERANKERS.register("reverse-for-tests")
    def _make(settings: Settings) -> Reranker:
        return Reverse()

    Reverse.seen.clear()
    yield "reverse-for-tests"
    RERANKERS.unregister("reverse-for-tests")


def test_a_registered_reranker_reorders_every_ranked_list(sample_store: SampleStore, reverse: str) -> None:
    plain = sample_store.settings
    ranked = plain.model_copy(update={"reranker": reverse, "rerank_depth": 6})
    q = "négociations de paix en Ukraine"
    fused = HybridRetriever(sample_store.store, plain).retrieve(q, k=6)
    assert len(fused) == 6
    app = Veille(ranked, store=sample_store.store)
    # Search: the six best fused passages, reversed, then cut to k.
    assert [p.chunk_id for p in app.search(q, k=3)] == [p.chunk_id for p in reversed(fused)][:3]
    # Answers read through the same slot (briefs make their HybridRetriever the same way).
    candidates = Answerer(sample_store.store, ranked).retriever.retrieve(q, k=2)
    assert [p.chunk_id for p in candidates] == [p.chunk_id for p in reversed(fused)][:2]
    assert Reverse.seen == [q, q]
    # Without the setting nothing changes.
    assert [p.chunk_id for p in Veille(plain, store=sample_store.store).search(q, k=3)] == [
        p.chunk_id for p in fused[:3]
    ]


def test_an_unknown_reranker_is_named_with_the_known_ones(sample_store: SampleStore, reverse: str) -> None:
    settings = sample_store.settings.model_copy(update={"reranker": "cross-encoder"})
    with pytest.raises(ValueError, match=r"unknown reranker .cross-encoder. in VEILLE_RERANKER.*reverse-for-tests"):
        HybridRetriever(sample_store.store, settings)
