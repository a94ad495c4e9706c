"""Rebuild the vector index (the Chroma collection) from the catalog.

The catalog keeps every chunk's span, its article's metadata and a copy of its vector, so the
collection can be written again without re-embedding: the repair when Chroma's files are damaged
(e.g. two processes opened one embedded folder) or lost. Only chunks whose copy an older version
never kept are embedded again.

The new collection is built beside the old one and takes its name at the end, so an interrupted
rebuild leaves the old one in place; running the command again starts over. What other writers did
meanwhile (to the collection being replaced) is reconciled from the catalog once the name is swapped.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from chromadb.errors import ChromaError

from index.catalog import StoredChunkRow
from index.ingest import WAIT_FOR_OTHER_WRITER_S, embedding_text
from index.models import Article, Chunk, article_of_chunk
from index.store import Store
from index.vectors import StoreError, VectorIndex, drop_collection, remove_orphan_segments, retired_name

# Chunks read from the catalog, (re-embedded where needed) and written to Chroma together.
PAGE = 1000


@dataclass
class RebuildReport:
    chunks: int = 0  # written to the new collection
    embedded: int = 0  # of which embedded again: the catalog had no copy of their vector
    reconciled: int = 0  # written or removed after the main pass: another writer was at work
    freed_bytes: int = 0  # the replaced index's files, removed (embedded Chroma)


def rebuild_vectors(store: Store, on_progress: Callable[[int, int], None] | None = None) -> RebuildReport:
    """Replace the store's collection with one written from the catalog; `on_progress(done, total)`."""
    settings, catalog = store.settings, store.catalog
    if _live_writers(store):
        raise StoreError(
            "another writer is writing articles right now; let it finish (or stop it) and run the rebuild again"
        )
    report = RebuildReport()
    started = catalog.clock()
    total = catalog.counts()["chunks"]
    staging, retired = f"{settings.collection}-rebuild", retired_name(settings.collection)
    drop_collection(store.chroma, staging)  # what an interrupted rebuild left
    new = store.open_vectors(staging)
    after = 0
    while rows := catalog.stored_chunks(after, PAGE):
        after = rows[-1].rowid
        written, embedded = _write(store, new, rows)
        report.chunks += written
        report.embedded += embedded
        if on_progress:
            on_progress(report.chunks, total)
    # Renamed aside before the new one takes the name, and dropped only then: at every moment one of
    # them holds the complete index, and a process opening the store between the two renames (or after
    # a crash there) gives the old one its name back (vectors._restore_retired).
    drop_collection(store.chroma, retired)
    store.open_vectors(settings.collection).rename(retired)
    try:
        new.rename(settings.collection)
    except ChromaError as exc:
        raise StoreError(
            "another process opened the vector index while the rebuild swapped it and took the old one back; "
            "it answers as before: run the rebuild again"
        ) from exc
    drop_collection(store.chroma, retired)
    store.reopen_vectors()
    report.reconciled = _catch_up(store, new, started)
    if not settings.chroma_url:
        report.freed_bytes = remove_orphan_segments(settings.chroma_path)
    if not catalog.chunks_without_vectors(0, 1):
        catalog.finish_copying_vectors()
    return report


def _live_writers(store: Store) -> set[str]:
    pending = store.catalog.pending_ids()
    return store.catalog.busy_ids(pending, store.settings.pending_stale_s) if pending else set()


def _catch_up(store: Store, index: VectorIndex, started: str) -> int:
    """Reconcile with what other writers did during the rebuild (they wrote to, or deleted from, the
    collection it replaced), waiting for those still at work; returns the chunks written or removed."""
    deadline = time.monotonic() + WAIT_FOR_OTHER_WRITER_S
    changed, since = 0, started
    while True:
        while _live_writers(store) and time.monotonic() < deadline:
            time.sleep(0.2)
        pass_started = store.catalog.clock()
        changed += _reconcile(store, index, since)
        # A writer that started, or finished, during the pass may have met a half-reconciled
        # collection: pass again over what it wrote.
        if not _live_writers(store) and not store.catalog.completed_since(pass_started):
            return changed
        since = pass_started
        if time.monotonic() >= deadline:
            raise StoreError(
                "another writer kept writing during the whole rebuild; the new collection is in place, but "
                "run the rebuild again once that writer has finished"
            )


def _write(store: Store, index: VectorIndex, rows: list[StoredChunkRow]) -> tuple[int, int]:
    """Write `rows` to `index` with their kept vectors, embedding those without one; returns
    (chunks written, chunks embedded)."""
    records = store.catalog.get_many(r.article_id for r in rows)
    articles: dict[str, Article] = {aid: rec.to_article() for aid, rec in records.items()}
    rows = [r for r in rows if r.article_id in articles]  # an article removed since the page was read
    chunks = [
        Chunk(r.article_id, r.index, articles[r.article_id].text[r.start : r.end], r.start, r.end, r.n_tokens)
        for r in rows
    ]
    dim = store.embedder.dim
    matrix = np.zeros((len(rows), dim), dtype=np.float32)
    missing: list[int] = []
    for i, r in enumerate(rows):
        if r.vec is not None and len(r.vec) == 4 * dim:
            matrix[i] = np.frombuffer(r.vec, dtype=np.float32)
        else:
            missing.append(i)
    if missing:
        texts = [embedding_text(articles[chunks[i].article_id], chunks[i]) for i in missing]
        fresh = store.embedder.embed_passages(texts)
        for i, vec in zip(missing, fresh, strict=True):
            matrix[i] = vec
        store.catalog.add_vectors({chunks[i].id: matrix[i] for i in missing}, dim)
    if chunks:
        index.upsert(articles, chunks, matrix)
    return len(chunks), len(missing)


def _reconcile(store: Store, index: VectorIndex, started: str) -> int:
    """Make the collection hold exactly the complete articles' chunks as the catalog has them now:
    missing ones written, those of articles rewritten since `started` written again (their vectors or
    metadata may have changed under the same ids), those of removed articles deleted. Chunks of
    articles being written right now are left to their writer."""
    in_chroma = set(index.all_ids())
    rewritten = store.catalog.completed_since(started)
    todo: list[StoredChunkRow] = []
    wanted: set[str] = set()
    after = 0
    while rows := store.catalog.stored_chunks(after, PAGE):
        after = rows[-1].rowid
        for r in rows:
            wanted.add(r.id)
            if r.id not in in_chroma or r.article_id in rewritten:
                todo.append(r)
    pending = set(store.catalog.pending_ids())  # after the scan: an article claimed during it is left alone
    extra = sorted(c for c in in_chroma - wanted if article_of_chunk(c) not in pending)
    if extra:
        index.delete_ids(extra)
    for i in range(0, len(todo), PAGE):
        _write(store, index, todo[i : i + PAGE])
    return len(extra) + len(todo)
