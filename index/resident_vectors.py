"""Every complete chunk's vector held in memory, for dense searches with a date or source filter.

Scoring the whole matrix is one matrix-vector product: 5.8 ms for 99,851 chunks × 384 dimensions on
this 2-core machine, where Chroma's filter took ~210 ms and reading a wide window's vectors from the
catalog up to ~250 ms (benchmarks/README.md, "Date-filtered dense search"). The matrix follows the
catalog: whenever the catalog changed, the articles whose version changed are read again.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from index.catalog import Catalog, VectorChanges
from index.embedders import Vectors
from index.vectors import DenseHit


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
        vector copy, or more chunks than allowed): the caller then asks Chroma."""
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
            scores = (self._matrix[:n] @ q)[rows]
            take = min(limit, len(rows))
            best = np.argpartition(-scores, take - 1)[:take]
            ids = self._ids
            ranked = sorted(best, key=lambda i: (-scores[i], ids[rows[i]]))
            return [DenseHit(ids[rows[i]], float(scores[i])) for i in ranked]

    def _follow_catalog(self) -> bool:
        fingerprint = self._catalog.fingerprint()  # before the read: a change after it is seen next time
        if fingerprint == self._seen:
            return self._usable
        _, chunks = self._catalog.estimate_chunks(None, None, None)
        changes = self._catalog.vector_changes(self._versions, self._dim) if chunks <= self._max_chunks else None
        self._usable = changes is not None
        if changes is None:
            self._clear()  # the memory goes back; Chroma answers
        else:
            self._apply(changes)
        self._seen = fingerprint
        return self._usable

    def _apply(self, changes: VectorChanges) -> None:
        current = changes.versions
        for aid in [a for a, v in self._versions.items() if a not in current or current[a][0] != v]:
            self._alive[self._rows_of.pop(aid, [])] = False
            del self._versions[aid]
        self._reserve(len(self._ids) + sum(len(ids) for ids, _ in changes.vectors.values()))
        for aid, (ids, matrix) in changes.vectors.items():
            start = len(self._ids)
            rows = np.arange(start, start + len(ids))
            norms = np.linalg.norm(matrix, axis=1, keepdims=True)
            self._matrix[rows] = matrix / np.where(norms > 0, norms, 1.0)
            _, date_int, source = current[aid]
            self._dates[rows] = date_int
            self._sources[rows] = self._codes.setdefault(source, len(self._codes))
            self._alive[rows] = True
            self._ids.extend(ids)
            self._rows_of[aid] = rows
        self._versions = {aid: version for aid, (version, _, _) in current.items()}
        if (~self._alive[: len(self._ids)]).sum() * 4 > len(self._ids):
            self._compact()

    def _reserve(self, rows: int) -> None:
        """Room for `rows` rows, grown by half again each time so appending stays linear overall."""
        if rows <= len(self._matrix):
            return
        size = max(rows, len(self._matrix) * 3 // 2)
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
