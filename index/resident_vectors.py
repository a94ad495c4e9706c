"""Every complete chunk's vector held in memory, for dense searches with a date or source filter.

The window's rows are scored exactly: 0.6 / 1.4 / 10.5 ms p50 at ±1 / ±15 / ±182 days on the full
news corpus (99,851 chunks × 384 dimensions, 2 cores), where Chroma's filter took 219–420 ms and
reading the window's vectors from the catalog 1.6–401 ms (benchmarks/README.md, "Date-filtered dense
search, held in memory"). Holding them costs 185 MB there (up to an eighth more once articles are
added), read in 0.7 s by the first filtered search. The matrix follows the catalog: whenever the
catalog changed, the articles whose version moved are read again.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from index.catalog import Catalog, VectorChanges
from index.embedders import Vectors
from index.vectors import DenseHit, best_hits


class ResidentVectors:
    """Rows are appended as articles arrive and marked dead when their article changes or goes;
    the matrix is compacted once a quarter of it is dead."""

    def __init__(self, catalog: Catalog, dim: int, max_chunks: int) -> None:
        self._catalog, self._dim, self._max_chunks = catalog, dim, max_chunks
        self._lock = threading.Lock()
        self._seen: tuple[int, int] | None = None
        self._usable = False
        self._clear()

    def _clear(self) -> None:
        self._matrix: NDArray[np.float32] = np.empty((0, self._dim), dtype=np.float32)
        self._dates: NDArray[np.int64] = np.empty(0, dtype=np.int64)
        self._sources: NDArray[np.int64] = np.empty(0, dtype=np.int64)
        self._alive: NDArray[np.bool_] = np.empty(0, dtype=bool)
        self._ids: list[str] = []
        self._rows_of: dict[str, NDArray[np.int64]] = {}
        self._versions: dict[str, str] = {}
        self._codes: dict[str, int] = {}

    @property
    def rows(self) -> int:
        """Chunks held (alive), as of the last search."""
        return int(self._alive.sum())

    def search(
        self, query: Vectors, limit: int, since: int | None, until: int | None, sources: Sequence[str]
    ) -> list[DenseHit] | None:
        """The `limit` chunks nearest to `query` by cosine similarity among the complete articles the
        filters let through, best first; None when the store cannot be held (a chunk without its
        vector copy, or more chunks than allowed): the caller then takes the store's other paths."""
        with self._lock:
            if not self._follow_catalog():
                return None
            n = len(self._ids)
            keep = self._alive[:n].copy()
            if since is not None:
                keep &= self._dates[:n] >= since
            if until is not None:
                keep &= self._dates[:n] <= until
            if sources:
                codes = [self._codes[s] for s in sources if s in self._codes]
                keep &= np.isin(self._sources[:n], codes)
            rows = np.flatnonzero(keep)
            if not len(rows) or limit < 1:
                return []
            q = np.asarray(query, dtype=np.float32).ravel()
            q = q / max(float(np.linalg.norm(q)), 1e-12)
            # einsum, not BLAS: right after the query's embedding (or a Chroma query) the other
            # libraries' threads still hold the 2 cores, and OpenBLAS's threaded product of 100,000
            # rows took 12.4 ms p50 there against 11.0 for einsum on one thread (2,000 rows: 3.0 vs 0.8).
            # A narrow window's rows are gathered first; past a quarter of the store the copy costs more.
            if len(rows) * 4 < n:
                scores = np.einsum("ij,j->i", self._matrix[rows], q)
            else:
                scores = np.einsum("ij,j->i", self._matrix[:n], q)[rows]
            ids = self._ids
            return best_hits(scores, lambda i: ids[rows[i]], limit)

    def _follow_catalog(self) -> bool:
        fingerprint = self._catalog.fingerprint()  # before the read: a change after it is seen next time
        if fingerprint == self._seen:
            return self._usable
        # Cheap refusals first: a store over the cap, or one whose vectors are not all copied into the
        # catalog yet (an older version's; the next ingestion copies them), is not read at each change.
        _, chunks = self._catalog.estimate_chunks(None, None, None)
        holdable = chunks <= self._max_chunks and self._catalog.vectors_copied()
        changes = self._catalog.vector_changes(self._versions, self._dim) if holdable else None
        self._usable = changes is not None
        if changes is None:
            self._clear()  # the memory goes back; the store's other paths answer
        else:
            self._apply(changes)
        self._seen = fingerprint
        return self._usable

    def _apply(self, changes: VectorChanges) -> None:
        current = changes.versions
        for aid in [a for a, v in self._versions.items() if a not in current or current[a][0] != v]:
            self._alive[self._rows_of.pop(aid, [])] = False
        start, added = len(self._ids), len(changes.chunk_ids)
        matrix = changes.matrix  # writable: it owns its buffer
        matrix /= np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
        if not start:  # the first load: the matrix read is the one kept, not copied
            self._matrix = matrix
            self._dates, self._sources = np.zeros(added, dtype=np.int64), np.zeros(added, dtype=np.int64)
            self._alive = np.zeros(added, dtype=bool)
        else:
            self._reserve(start + added)
            self._matrix[start : start + added] = matrix
        grouped: dict[str, list[int]] = {}
        for i, aid in enumerate(changes.article_ids, start=start):
            grouped.setdefault(aid, []).append(i)
        for aid, row_list in grouped.items():
            rows = np.asarray(row_list, dtype=np.int64)
            _, date_int, source = current[aid]
            self._dates[rows] = date_int
            self._sources[rows] = self._codes.setdefault(source, len(self._codes))
            self._rows_of[aid] = rows
        self._alive[start : start + added] = True
        self._ids.extend(changes.chunk_ids)
        self._versions = {aid: version for aid, (version, _, _) in current.items()}
        if (~self._alive[: len(self._ids)]).sum() * 4 > len(self._ids):
            self._compact()

    def _reserve(self, rows: int) -> None:
        """Room for `rows` rows, grown by an eighth at least: memory stays within 1/8 of what is held
        (twice that during the copy), and a steady ingestion copies the matrix every ~1/8 of its size."""
        if rows <= len(self._matrix):
            return
        size = max(rows, len(self._matrix) + max(len(self._matrix) // 8, 1024))
        grow = size - len(self._matrix)
        self._matrix = np.concatenate([self._matrix, np.empty((grow, self._dim), dtype=np.float32)])
        self._dates = np.concatenate([self._dates, np.zeros(grow, dtype=np.int64)])
        self._sources = np.concatenate([self._sources, np.zeros(grow, dtype=np.int64)])
        self._alive = np.concatenate([self._alive, np.zeros(grow, dtype=bool)])

    def _compact(self) -> None:
        keep = np.flatnonzero(self._alive[: len(self._ids)])
        moved = np.full(len(self._ids), -1, dtype=np.int64)
        moved[keep] = np.arange(len(keep))
        self._matrix, self._dates = self._matrix[keep], self._dates[keep]
        self._sources, self._alive = self._sources[keep], self._alive[keep]
        self._ids = [self._ids[i] for i in keep]
        self._rows_of = {aid: moved[rows] for aid, rows in self._rows_of.items()}
