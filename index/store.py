"""The store as the rest of Veille sees it: open it from settings, read from it.

`index/` owns the layout (SQLite catalog + Chroma collection); `rag/` reads only
through this class, and only `index.ingest` writes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from index import folder_lock
from index.catalog import ArticleRecord, Catalog, LexicalHit
from index.embedders import Embedder, Vectors, load_embedder
from index.resident_vectors import ResidentVectors
from index.vectors import DenseHit, StoreError, VectorIndex, connect, exact_search
from veille.settings import Settings

# A wide window's dense search asks Chroma, unfiltered, for OVERFETCH times the hits it needs divided
# by the window's share of the store, at most MAX_OVERFETCH (beyond that, Chroma's filter).
OVERFETCH = 2.0
MAX_OVERFETCH = 1000


@dataclass(frozen=True)
class Filters:
    since: date | None = None
    until: date | None = None
    sources: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.since and self.until and self.since > self.until:
            raise ValueError(f"--since {self.since} is after --until {self.until}")

    @property
    def since_int(self) -> int | None:
        return int(self.since.strftime("%Y%m%d")) if self.since else None

    @property
    def until_int(self) -> int | None:
        return int(self.until.strftime("%Y%m%d")) if self.until else None


@dataclass(frozen=True)
class StoredChunk:
    id: str
    article: ArticleRecord
    start: int
    end: int

    @property
    def text(self) -> str:
        return self.article.text[self.start : self.end]


class Store:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._embedded = not settings.chroma_url
        if self._embedded:
            _lock_embedded(settings.chroma_path)
        try:
            self.catalog = Catalog(settings.sqlite_path)
            self._check_embedder_pin()
        except BaseException:
            self._release()
            raise

    def _check_embedder_pin(self) -> None:
        pinned = self.catalog.get_meta("embedder")
        if pinned is None:
            self.catalog.set_meta("embedder", self.settings.embedder)
        elif pinned != self.settings.embedder:
            raise StoreError(
                f"the index in {self.settings.data_dir} was built with the embedder {pinned!r}, but "
                f"{self.settings.embedder!r} is configured; set VEILLE_EMBEDDER={pinned} or point "
                "VEILLE_DATA_DIR at a new folder and ingest again"
            )

    @cached_property
    def embedder(self) -> Embedder:
        s = self.settings
        return load_embedder(s.embedder, s.embed_device, s.embed_batch_size, s.threads)

    @cached_property
    def chroma(self) -> Any:
        return connect(self.settings.chroma_url, self.settings.chroma_path)

    @cached_property
    def vectors(self) -> VectorIndex:
        return self.open_vectors(self.settings.collection)

    def open_vectors(self, collection: str) -> VectorIndex:
        return VectorIndex(self.chroma, collection, self.embedder.name, self.embedder.dim)

    @cached_property
    def resident(self) -> ResidentVectors | None:
        cap = self.settings.dense_resident_max_chunks
        return ResidentVectors(self.catalog, self.embedder.dim, cap) if cap else None

    def reopen_vectors(self) -> None:
        """Forget the open collection (it was replaced): the next use opens it by name again."""
        self.__dict__.pop("vectors", None)

    def close(self) -> None:
        self.catalog.close()
        if "chroma" in self.__dict__:
            # Chroma keeps one System per folder for the whole process until its last client closes:
            # closed with the lock, so this process holds no Chroma state on a folder that another
            # process may now open (Chroma does not support two processes on one embedded folder).
            self.reopen_vectors()
            self.__dict__.pop("chroma").close()
        self._release()

    def _release(self) -> None:
        if self._embedded:
            self._embedded = False  # once per store
            folder_lock.release(self.settings.chroma_path)

    # -- reads used by rag/ -------------------------------------------------
    def validate_filters(self, filters: Filters) -> None:
        found = self.catalog.has_sources(filters.sources)
        unknown = [s for s in filters.sources if s not in found]
        if unknown:
            known = ", ".join(sorted(self.catalog.sources())) or "none yet"
            raise ValueError(f"unknown source(s): {', '.join(unknown)}; known sources: {known}")

    def search_dense(self, query: str, limit: int, filters: Filters) -> list[DenseHit]:
        return self.search_vector(self.embedder.embed_query(query), limit, filters)

    def search_vector(self, vec: Vectors, limit: int, filters: Filters) -> list[DenseHit]:
        """Chroma's nearest chunks; with a filter, the cheapest way to the same hits (measured in
        benchmarks/filtered_dense.py): every chunk held in memory and scored exactly, or, when the
        store is not held, the store's nearest chunks over-fetched when the window is a large share
        of it, else every chunk of a window small enough scored exactly from the catalog, else (or
        with both settings at 0) Chroma's filter, whose cost follows the whole store."""
        since, until, sources = filters.since_int, filters.until_int, filters.sources
        if since is None and until is None and not sources:
            return self.vectors.search(vec, limit)
        hits = self.resident.search(vec, limit, since, until, sources) if self.resident else None
        cap = self.settings.dense_exact_max_chunks
        if hits is None and cap:
            in_window, total = self.catalog.estimate_chunks(since, until, sources)
            hits = self.dense_overfetched(vec, limit, filters, in_window / total) if total else None
            if hits is None and in_window <= cap:
                hits = self.dense_exact(vec, limit, filters)
        return hits if hits is not None else self.vectors.search(vec, limit, since, until, sources)

    def dense_exact(self, vec: Vectors, limit: int, filters: Filters) -> list[DenseHit] | None:
        """Every chunk inside the filters scored from the catalog's copy of its vector; None when
        some chunk has no copy (written by an older version): Chroma has them all."""
        window = self.catalog.vectors_in(filters.since_int, filters.until_int, filters.sources, self.embedder.dim)
        return None if window is None else exact_search(vec, *window, limit)

    def dense_overfetched(self, vec: Vectors, limit: int, filters: Filters, share: float) -> list[DenseHit] | None:
        """For a window holding `share` of the store: its hits among the store's nearest chunks,
        fetched in proportion; None when that would be too many or too few were inside."""
        fetch = math.ceil(OVERFETCH * limit / share) if share > 0 else MAX_OVERFETCH + 1
        if fetch > MAX_OVERFETCH:
            return None
        nearest = self.vectors.search(vec, fetch)
        ids = [h.chunk_id for h in nearest]
        inside = self.catalog.inside(ids, filters.since_int, filters.until_int, filters.sources)
        hits = [h for h in nearest if h.chunk_id in inside]
        # Fewer than asked while the store held more: the window is under-represented near the query.
        return hits[:limit] if len(hits) >= limit or len(nearest) < fetch else None

    def search_lexical(self, query: str, limit: int, filters: Filters) -> list[LexicalHit]:
        return self.catalog.search(
            query, limit, filters.since_int, filters.until_int, filters.sources, self.settings.lexical_max_postings
        )

    def chunks(self, chunk_ids: Sequence[str]) -> dict[str, StoredChunk]:
        """Chunks of complete articles only: a half-written article is never read."""
        spans = self.catalog.get_chunks(chunk_ids)
        articles = self.catalog.get_many(aid for _, _, aid in spans.values())
        return {
            cid: StoredChunk(cid, articles[aid], start, end)
            for cid, (start, end, aid) in spans.items()
            if aid in articles
        }

    def article(self, article_id: str) -> ArticleRecord | None:
        return self.catalog.get(article_id)

    def articles(self, filters: Filters, limit: int | None = None, offset: int = 0) -> list[ArticleRecord]:
        return self.catalog.list_articles(filters.since_int, filters.until_int, filters.sources or None, limit, offset)

    def article_vectors(self, article_ids: Sequence[str]) -> dict[str, np.ndarray]:
        """One unit vector per article: the mean of its stored chunk vectors, the first chunk
        (title and lede) counted twice because it says what the story is."""
        by_article = self.catalog.chunk_ids_by_article(article_ids)
        stored = self.vectors.vectors_of([cid for ids in by_article.values() for cid in ids])
        out: dict[str, np.ndarray] = {}
        for aid, ids in by_article.items():
            vecs = [stored[c] for c in ids if c in stored]
            if not vecs:
                continue
            mat = np.asarray(vecs, dtype=np.float32)
            weights = np.ones(len(vecs), dtype=np.float32)
            weights[0] = 2.0
            mean = (mat * weights[:, None]).sum(axis=0)
            norm = float(np.linalg.norm(mean))
            if norm > 0:
                out[aid] = mean / norm
        return out

    def stats(self) -> dict[str, object]:
        out: dict[str, object] = dict(self.catalog.counts())
        out["sources"] = self.catalog.sources()
        out["embedder"] = self.settings.embedder
        out["chroma"] = self.settings.chroma_url or f"embedded ({self.settings.chroma_path})"
        out["vectors"] = self.vectors.count()
        return out


def _lock_embedded(path: Path) -> None:
    try:
        folder_lock.acquire(path)
    except folder_lock.FolderBusy as exc:
        raise StoreError(
            f"another process ({exc}) has {path} open: embedded Chroma takes one process per data folder, "
            "and two damage its index. Stop that process or go through it (e.g. ingest with the API of a "
            f"running `veille serve`), or run a Chroma server (`chroma run --path {path}`) and set "
            "VEILLE_CHROMA_URL for every process"
        ) from None
