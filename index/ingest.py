"""Ingestion: articles → chunks → vectors (Chroma) + lexical rows (SQLite), atomically per article.

Protocol, so that a killed run never leaves an article half-indexed:
1. the batch's articles are marked `pending` in the ledger (readers ignore them);
2. their old vectors are deleted and the new ones written to Chroma;
3. one SQLite transaction writes their lexical rows and marks them `complete`.
A run that dies between 1 and 3 leaves `pending` rows; the next writer removes
their vectors and rows first (`recover`), so re-running ingests them afresh.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from index.chunking import ChunkingOptions, chunk_article
from index.models import Article, Chunk, IngestReport, Rejection
from index.store import Store
from index.writers import lease

# How long a writer waits for another live writer to finish an article it also wants to write.
WAIT_FOR_OTHER_WRITER_S = 300.0


class WriterBusy(RuntimeError):
    """Another writer kept an article for longer than we wait for it."""


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
    def __init__(self, store: Store, chunking: ChunkingOptions | None = None, batch_chunks: int | None = None) -> None:
        self.store = store
        s = store.settings
        self.chunking = chunking or ChunkingOptions(s.chunk_tokens, s.chunk_overlap_tokens)
        self.batch_chunks = batch_chunks or s.ingest_batch_chunks
        self.recovered = self.recover()
        self.backfilled = self.backfill_vectors()

    def recover(self) -> list[str]:
        """Remove what an interrupted writer left half-written (never a live writer's work)."""
        with lease() as writer:
            claimed = self.store.catalog.claim_abandoned(writer, self.store.settings.pending_stale_s)
            if claimed:
                self.store.vectors.delete_articles(claimed)
                self.store.catalog.remove(claimed, writer)
        return claimed

    def backfill_vectors(self) -> int:
        """Once per store: copy into the catalog the vectors of chunks written before it kept them
        (read from Chroma, nothing re-embedded); returns how many. Until then a filtered search of
        a window holding such chunks goes to Chroma's filter."""
        catalog, copied, after = self.store.catalog, 0, 0
        if catalog.vectors_copied():
            return 0
        while todo := catalog.chunks_without_vectors(after):
            after = todo[-1][0]
            stored = self.store.vectors.vectors_of([cid for _, cid in todo])
            copied += catalog.add_vectors(
                {cid: np.asarray(v, dtype=np.float32) for cid, v in stored.items()}, self.store.embedder.dim
            )
        catalog.finish_copying_vectors()
        return copied

    def ingest(
        self,
        items: Iterable[Article | Rejection],
        on_item: Callable[[Article | Rejection, str], None] | None = None,
    ) -> IngestReport:
        """Ingest every article; `on_item(item, status)` is called as each is settled.

        An article another live writer is writing right now is written after it has finished
        (then usually `unchanged`), so that two writers never interleave on one article.
        """
        report = IngestReport()

        def settle(item: Article | Rejection, status: str) -> None:
            if on_item is not None:
                on_item(item, status)

        waiting: list[Article] = []
        self._ingest(items, report, settle, waiting)
        deadline = time.monotonic() + WAIT_FOR_OTHER_WRITER_S
        while waiting:
            busy = self.store.catalog.busy_ids([a.id for a in waiting], self.store.settings.pending_stale_s)
            if busy and time.monotonic() < deadline:
                time.sleep(0.2)
                continue
            for a in waiting:
                if a.id in busy:
                    rejection = Rejection(
                        a.origin or a.id,
                        f"another writer has been writing this article for over {WAIT_FOR_OTHER_WRITER_S:.0f} s; "
                        "send it again later",
                    )
                    report.rejected.append(rejection)
                    settle(rejection, "rejected")
            ready, waiting = [a for a in waiting if a.id not in busy], []
            self._ingest(ready, report, settle, waiting)
        return report

    def _ingest(
        self,
        items: Iterable[Article | Rejection],
        report: IngestReport,
        settle: Callable[[Article | Rejection, str], None],
        waiting: list[Article],
    ) -> None:
        batch = _Batch()
        catalog, stale = self.store.catalog, self.store.settings.pending_stale_s
        for item in items:
            if isinstance(item, Rejection):
                report.rejected.append(item)
                settle(item, "rejected")
                continue
            if item.id in batch:
                self._flush(batch, report, settle, waiting)
                batch = _Batch()
            known = catalog.states([item.id]).get(item.id)
            if known == ("complete", item.content_hash):
                report.unchanged.append(item.id)
                settle(item, "unchanged")
                continue
            if known is not None and known[0] == "pending" and catalog.busy_ids([item.id], stale):
                waiting.append(item)
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
                self._flush(batch, report, settle, waiting)
                batch = _Batch()
        self._flush(batch, report, settle, waiting)

    def _flush(
        self,
        batch: _Batch,
        report: IngestReport,
        settle: Callable[[Article | Rejection, str], None],
        waiting: list[Article],
    ) -> None:
        if not batch.articles:
            return
        catalog, vectors = self.store.catalog, self.store.vectors
        with lease() as writer:
            held = catalog.claim(batch.articles, writer, self.store.settings.pending_stale_s)
            articles = [a for a in batch.articles if a.id in held]
            chunks = [c for c in batch.chunks if c.article_id in held]
            done: set[str] = set()
            if articles:
                by_id = {a.id: a for a in articles}
                # Whatever vectors these ids had (an older version, an abandoned write) go first.
                vectors.delete_articles(sorted(held))
                embedded = self.store.embedder.embed_passages([embedding_text(by_id[c.article_id], c) for c in chunks])
                vectors.upsert(by_id, chunks, embedded)
                done = catalog.complete(articles, chunks, writer, embedded)
        report.chunks_written += sum(c.article_id in done for c in chunks)
        for a in batch.articles:
            if a.id not in done:
                waiting.append(a)  # another writer holds it: settled once that writer is done
                continue
            status = "replaced" if a.id in batch.replacing else "added"
            (report.replaced if status == "replaced" else report.added).append(a.id)
            settle(a, status)

    def delete(self, article_ids: Sequence[str]) -> tuple[list[str], list[str]]:
        """Remove articles everywhere; returns (deleted, unknown).

        Raises WriterBusy when another writer keeps one of them for longer than we wait.
        """
        catalog, stale = self.store.catalog, self.store.settings.pending_stale_s
        states = catalog.states(article_ids)
        found = [i for i in article_ids if i in states]
        missing = [i for i in article_ids if i not in states]
        deadline = time.monotonic() + WAIT_FOR_OTHER_WRITER_S
        todo = found
        while todo:
            # Pending first, under our lease, so that a crash mid-delete is finished by `recover`.
            with lease() as writer:
                held = catalog.claim_ids(todo, writer, stale)
                if held:
                    self.store.vectors.delete_articles(sorted(held))
                    catalog.remove(sorted(held), writer)
            gone = set(todo) - set(catalog.states(todo))
            todo = [i for i in todo if i not in gone]
            if todo:
                if time.monotonic() > deadline:
                    raise WriterBusy(f"another writer is still writing {', '.join(todo)}; try again later")
                time.sleep(0.2)
        return found, missing
