"""Ingestion: articles → chunks → vectors (Chroma) + lexical rows (SQLite), atomically per article.

Protocol, so that a killed run never leaves an article half-indexed:
1. the batch's articles are marked `pending` in the ledger (readers ignore them);
2. their old vectors are deleted and the new ones written to Chroma;
3. one SQLite transaction writes their lexical rows and marks them `complete`.
A run that dies between 1 and 3 leaves `pending` rows; the next writer removes
their vectors and rows first (`recover`), so re-running ingests them afresh.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from index.chunking import ChunkingOptions, chunk_article
from index.models import Article, Chunk, IngestReport, Rejection
from index.store import Store
from index.writers import lease


@dataclass
class _Batch:
    articles: list[Article] = field(default_factory=list)
    chunks: list[Chunk] = field(default_factory=list)
    replacing: set[str] = field(default_factory=set)

    def __contains__(self, article_id: str) -> bool:
        return any(a.id == article_id for a in self.articles)


def embedding_text(article: Article, chunk: Chunk) -> str:
    """What the embedder sees: the title gives a chunk its context."""
    return f"{article.title}\n{chunk.text}" if article.title else chunk.text


class Ingestor:
    def __init__(self, store: Store, chunking: ChunkingOptions | None = None, batch_chunks: int = 64) -> None:
        self.store = store
        s = store.settings
        self.chunking = chunking or ChunkingOptions(s.chunk_tokens, s.chunk_overlap_tokens)
        self.batch_chunks = batch_chunks
        self.recovered = self.recover()

    def recover(self) -> list[str]:
        """Remove what a previous, interrupted run left half-written."""
        pending = self.store.catalog.abandoned_ids(self.store.settings.pending_stale_s)
        if pending:
            self.store.vectors.delete_articles(pending)
            self.store.catalog.remove(pending)
        return pending

    def ingest(
        self,
        items: Iterable[Article | Rejection],
        on_item: Callable[[Article | Rejection, str], None] | None = None,
    ) -> IngestReport:
        """Ingest every article; `on_item(item, status)` is called as each is settled."""
        report = IngestReport()
        batch = _Batch()
        catalog = self.store.catalog

        def settle(item: Article | Rejection, status: str) -> None:
            if on_item is not None:
                on_item(item, status)

        for item in items:
            if isinstance(item, Rejection):
                report.rejected.append(item)
                settle(item, "rejected")
                continue
            if item.id in batch:
                self._flush(batch, report, settle)
                batch = _Batch()
            known = catalog.states([item.id]).get(item.id)
            # A pending copy may be another writer's work in progress, or abandoned: write it again.
            if known is not None and known == ("complete", item.content_hash):
                report.unchanged.append(item.id)
                settle(item, "unchanged")
                continue
            chunks = chunk_article(item, self.chunking)
            if not chunks:
                rejection = Rejection(item.origin or item.id, "no indexable text after clean-up")
                report.rejected.append(rejection)
                settle(rejection, "rejected")
                continue
            batch.articles.append(item)
            batch.chunks.extend(chunks)
            if known is not None:
                batch.replacing.add(item.id)
            if len(batch.chunks) >= self.batch_chunks:
                self._flush(batch, report, settle)
                batch = _Batch()
        self._flush(batch, report, settle)
        return report

    def _flush(self, batch: _Batch, report: IngestReport, settle: Callable[[Article | Rejection, str], None]) -> None:
        if not batch.articles:
            return
        by_id = {a.id: a for a in batch.articles}
        catalog, vectors = self.store.catalog, self.store.vectors
        with lease() as writer:
            catalog.mark_pending(batch.articles, writer)
            if batch.replacing:
                vectors.delete_articles(sorted(batch.replacing))
            texts = [embedding_text(by_id[c.article_id], c) for c in batch.chunks]
            embedded = self.store.embedder.embed_passages(texts)
            vectors.upsert(by_id, batch.chunks, embedded)
            catalog.complete(batch.articles, batch.chunks)
        report.chunks_written += len(batch.chunks)
        for a in batch.articles:
            status = "replaced" if a.id in batch.replacing else "added"
            (report.replaced if status == "replaced" else report.added).append(a.id)
            settle(a, status)

    def delete(self, article_ids: Sequence[str]) -> tuple[list[str], list[str]]:
        """Remove articles everywhere; returns (deleted, unknown)."""
        states = self.store.catalog.states(article_ids)
        found = [i for i in article_ids if i in states]
        missing = [i for i in article_ids if i not in states]
        if found:
            # Pending first, so that a crash mid-delete is finished by `recover`.
            with lease() as writer:
                self.store.catalog.mark_pending_ids(found, writer)
                self.store.vectors.delete_articles(found)
                self.store.catalog.remove(found)
        return found, missing
