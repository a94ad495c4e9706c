"""Hybrid retrieval: dense (Chroma) + lexical (BM25), fused by reciprocal rank, with filters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from index.store import Filters, Store
from rag.rerank import load_reranker
from veille.settings import Settings


class QueryError(ValueError):
    """A question or filter the user must fix; the message says how."""


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk: what the model is shown as [n] and what a citation points into."""

    chunk_id: str
    article_id: str
    title: str
    source: str
    url: str
    date: str
    lang: str
    text: str
    start: int  # offsets of `text` inside the article's text
    end: int
    score: float
    dense_rank: int | None = None  # 1-based rank on each side, None when absent there
    lexical_rank: int | None = None
    dense_score: float | None = None  # cosine similarity, when the dense side found it


def _recency_weight(article_date: str, as_of: date, half_life_days: float) -> float:
    if half_life_days <= 0 or not article_date:
        return 1.0
    age = max(0, (as_of - date.fromisoformat(article_date)).days)
    return float(0.5 ** (age / half_life_days))


class HybridRetriever:
    def __init__(self, store: Store, settings: Settings | None = None) -> None:
        self.store = store
        self.settings = settings or store.settings
        self.reranker = load_reranker(self.settings)

    def retrieve(
        self,
        query: str,
        k: int | None = None,
        filters: Filters | None = None,
        mode: str | None = None,
        recency_half_life_days: float | None = None,
        as_of: date | None = None,
    ) -> list[Passage]:
        s = self.settings
        query = query.strip()
        if not query:
            raise QueryError("the query is empty; type a question or some keywords")
        k = k or s.top_k
        if k < 1 or k > 100:
            raise QueryError(f"k must be between 1 and 100 (got {k})")
        filters = filters or Filters()
        self.store.validate_filters(filters)
        mode = mode or s.fusion
        if mode not in ("rrf", "dense", "lexical"):
            raise QueryError(f"unknown retrieval mode {mode!r}: use rrf, dense or lexical")
        n = max(s.candidates, k)

        scores: dict[str, float] = {}
        dense_rank: dict[str, int] = {}
        dense_score: dict[str, float] = {}
        lexical_rank: dict[str, int] = {}
        if mode in ("rrf", "dense"):
            for rank, hit in enumerate(self.store.search_dense(query, n, filters), start=1):
                dense_rank[hit.chunk_id] = rank
                dense_score[hit.chunk_id] = hit.score
                scores[hit.chunk_id] = scores.get(hit.chunk_id, 0.0) + (
                    1.0 / (s.rrf_k + rank) if mode == "rrf" else hit.score
                )
        if mode in ("rrf", "lexical"):
            for rank, lhit in enumerate(self.store.search_lexical(query, n, filters), start=1):
                lexical_rank[lhit.chunk_id] = rank
                scores[lhit.chunk_id] = scores.get(lhit.chunk_id, 0.0) + (
                    1.0 / (s.rrf_k + rank) if mode == "rrf" else lhit.score
                )

        stored = self.store.chunks(list(scores))
        half_life = s.recency_half_life_days if recency_half_life_days is None else recency_half_life_days
        today = as_of or date.today()
        passages = []
        for cid, score in scores.items():
            chunk = stored.get(cid)
            if chunk is None:  # its article is mid-ingestion or was deleted since
                continue
            a = chunk.article
            passages.append(
                Passage(
                    chunk_id=cid,
                    article_id=a.id,
                    title=a.title,
                    source=a.source,
                    url=a.url,
                    date=a.date,
                    lang=a.lang,
                    text=chunk.text,
                    start=chunk.start,
                    end=chunk.end,
                    score=score * _recency_weight(a.date, today, half_life),
                    dense_rank=dense_rank.get(cid),
                    lexical_rank=lexical_rank.get(cid),
                    dense_score=dense_score.get(cid),
                )
            )
        passages.sort(key=lambda p: (-p.score, p.chunk_id))
        if self.reranker is not None:
            passages = self.reranker.rerank(query, passages[: max(k, s.rerank_depth)])
        return passages[:k]
