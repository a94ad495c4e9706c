"""The catalog's copy of the vectors: exact date- or source-filtered dense search, and what a
resident copy or a rebuild reads."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from index.catalog.connection import Connection, filters_sql, in_batches


@dataclass(frozen=True)
class VectorChanges:
    """What a copy of the complete chunks' vectors needs to follow the catalog, read from one snapshot."""

    # Every complete article: id -> (version, date_int, source); a new version means new vectors.
    versions: dict[str, tuple[str, int, str]]
    # The chunks of the articles whose version is new: each one's id, its article's, and its vector
    # (one row of `matrix` each).
    chunk_ids: list[str]
    article_ids: list[str]
    matrix: NDArray[np.float32]


class VectorCopies(Connection):
    def estimate_chunks(self, since: int | None, until: int | None, sources: Sequence[str] | None) -> tuple[float, int]:
        """(About how many chunks the filters let through, how many the store holds): the ledger's
        articles they match (pending ones included; the state is not indexed) times the store's mean
        chunks per article."""
        where, params = filters_sql(since, until, sources, complete_only=False)
        with self._lock:
            articles = self._db.execute("SELECT COUNT(*) FROM articles").fetchone()[0]
            chunks = self._db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
            in_window = self._db.execute(f"SELECT COUNT(*) FROM articles a WHERE {where}", params).fetchone()[0]
        return (float(in_window) * chunks / articles if articles else 0.0), int(chunks)

    def inside(
        self, chunk_ids: Sequence[str], since: int | None, until: int | None, sources: Sequence[str] | None
    ) -> set[str]:
        """Those of `chunk_ids` whose article is complete and passes the filters."""
        where, params = filters_sql(since, until, sources)
        out: set[str] = set()
        with self._lock:
            for part, marks in in_batches(chunk_ids):
                rows = self._db.execute(
                    "SELECT c.id FROM chunks c JOIN articles a ON a.id = c.article_id "
                    f"WHERE c.id IN ({marks}) AND {where}",
                    [*part, *params],
                ).fetchall()
                out.update(r[0] for r in rows)
        return out

    def vectors_in(
        self, since: int | None, until: int | None, sources: Sequence[str] | None, dim: int
    ) -> tuple[list[str], NDArray[np.float32]] | None:
        """The chunk ids and vectors (one row each) of the complete articles the filters let through;
        None when one of them has no `dim`-sized vector here (written by a version that kept none)."""
        where, params = filters_sql(since, until, sources)
        with self._lock:
            rows = self._db.execute(
                f"""SELECT c.id, v.vec FROM articles a
                    JOIN chunks c ON c.article_id = a.id
                    LEFT JOIN chunk_vectors v ON v.rowid = c.rowid
                    WHERE {where}""",
                params,
            ).fetchall()
        if any(r[1] is None or len(r[1]) != 4 * dim for r in rows):
            return None
        matrix = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(len(rows), dim)
        return [r[0] for r in rows], matrix

    def fingerprint(self) -> tuple[int, int]:
        """Moves whenever the catalog changed: SQLite's data_version counts other connections'
        commits, total_changes this connection's own rows."""
        with self._lock:
            return int(self._db.execute("PRAGMA data_version").fetchone()[0]), self._db.total_changes

    def vector_changes(self, known: Mapping[str, str], dim: int) -> VectorChanges | None:
        """The complete articles' versions, and the vectors of those whose version differs from
        `known` (article id -> version); None when one of those chunks has no `dim`-sized vector here."""
        chunk_ids: list[str] = []
        article_ids: list[str] = []
        # Vectors appended to one buffer as the rows stream in: a list of 100,000 small bytes objects
        # left ~250 MB more resident after it was freed than the 153 MB matrix itself.
        buffer = bytearray()
        with self._lock:
            self._db.execute("BEGIN")  # one read snapshot: versions and vectors agree
            try:
                rows = self._db.execute(
                    "SELECT id, ingested_at || '|' || content_hash, date_int, source FROM articles "
                    "WHERE state = 'complete'"
                ).fetchall()
                versions = {r[0]: (str(r[1]), int(r[2]), str(r[3])) for r in rows}
                fresh = [aid for aid, (version, _, _) in versions.items() if known.get(aid) != version]
                select = "SELECT c.article_id, c.id, v.vec FROM chunks c LEFT JOIN chunk_vectors v ON v.rowid = c.rowid"
                wanted = set(fresh)
                if len(fresh) > len(versions) // 2:  # most of the store: one pass, not one look-up each
                    cursors: Iterable[Iterable[sqlite3.Row]] = [self._db.execute(select)]
                else:
                    cursors = (
                        self._db.execute(f"{select} WHERE c.article_id IN ({marks})", part)
                        for part, marks in in_batches(fresh)
                    )
                for cursor in cursors:
                    for aid, cid, vec in cursor:
                        if aid not in wanted:
                            continue
                        if vec is None or len(vec) != 4 * dim:
                            return None
                        chunk_ids.append(cid)
                        article_ids.append(aid)
                        buffer += vec
            finally:
                if self._db.in_transaction:  # not when SQLite already ended it on an error
                    self._db.execute("COMMIT")
        matrix = np.frombuffer(buffer, dtype=np.float32).reshape(len(chunk_ids), dim)
        return VectorChanges(versions, chunk_ids, article_ids, matrix)

    def vectors_copied(self) -> bool:
        return self.get_meta("chunk_vectors") == "copied"

    def chunks_without_vectors(self, after: int = 0, limit: int = 500) -> list[tuple[int, str]]:
        """(rowid, chunk id) of complete articles' chunks that have no vector here, by rowid past `after`."""
        with self._lock:
            rows = self._db.execute(
                """SELECT c.rowid, c.id FROM chunks c JOIN articles a ON a.id = c.article_id
                   WHERE c.rowid > ? AND a.state = 'complete'
                   AND NOT EXISTS (SELECT 1 FROM chunk_vectors v WHERE v.rowid = c.rowid)
                   ORDER BY c.rowid LIMIT ?""",
                (after, limit),
            ).fetchall()
        return [(int(r[0]), str(r[1])) for r in rows]

    def finish_copying_vectors(self) -> None:
        """Drop copies whose chunk is gone (an older writer deleted the chunk alone) and record that
        the store's vectors were copied: a later writer does not look again."""
        with self.transaction() as db:
            db.execute("DELETE FROM chunk_vectors WHERE rowid NOT IN (SELECT rowid FROM chunks)")
            db.execute("INSERT OR REPLACE INTO meta VALUES ('chunk_vectors', 'copied')")

    def add_vectors(self, vectors: dict[str, NDArray[np.float32]], dim: int) -> int:
        """Keep `vectors` (chunk id -> `dim` floats) for chunks of complete articles that lack one, or
        whose copy has another size (damaged); returns how many were kept. A chunk rewritten meanwhile
        already has its new vector and keeps it."""
        arrays = {cid: np.asarray(v, dtype=np.float32) for cid, v in vectors.items()}
        wrong = [cid for cid, v in arrays.items() if v.size != dim]
        if wrong:
            raise ValueError(f"vectors of another size than {dim} for {', '.join(wrong[:3])}")
        with self.transaction() as db:
            before = db.total_changes
            db.executemany(
                """INSERT INTO chunk_vectors (rowid, vec)
                   SELECT c.rowid, ? FROM chunks c JOIN articles a ON a.id = c.article_id
                   WHERE c.id = ? AND a.state = 'complete'
                   ON CONFLICT (rowid) DO UPDATE SET vec = excluded.vec
                   WHERE length(chunk_vectors.vec) != ?""",
                [(v.tobytes(), cid, 4 * dim) for cid, v in arrays.items()],
            )
            return int(db.total_changes - before)
