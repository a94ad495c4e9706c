"""Reading articles and chunks back: records, lists, counts, sources."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from index.catalog.connection import Connection, filters_sql, in_batches
from index.models import Article


@dataclass(frozen=True)
class ArticleRecord:
    id: str
    content_hash: str
    state: str
    title: str
    source: str
    url: str
    date: str
    lang: str
    text: str
    n_chunks: int

    def to_article(self) -> Article:
        return Article(
            id=self.id,
            text=self.text,
            title=self.title,
            source=self.source,
            url=self.url,
            date=self.date,
            lang=self.lang,
        )


@dataclass(frozen=True)
class StoredChunkRow:
    rowid: int
    id: str
    article_id: str
    index: int
    start: int
    end: int
    n_tokens: int
    vec: bytes | None


def _record(row: sqlite3.Row) -> ArticleRecord:
    return ArticleRecord(
        id=row["id"],
        content_hash=row["content_hash"],
        state=row["state"],
        title=row["title"],
        source=row["source"],
        url=row["url"],
        date=row["date"],
        lang=row["lang"],
        text=row["text"],
        n_chunks=row["n_chunks"],
    )


class ArticleReads(Connection):
    def get(self, article_id: str) -> ArticleRecord | None:
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM articles WHERE id = ? AND state = 'complete'", (article_id,)
            ).fetchone()
        return None if row is None else _record(row)

    def get_many(self, ids: Iterable[str]) -> dict[str, ArticleRecord]:
        ids = list(dict.fromkeys(ids))
        if not ids:
            return {}
        with self._lock:
            rows = self._db.execute(
                f"SELECT * FROM articles WHERE state = 'complete' AND id IN ({','.join('?' * len(ids))})", ids
            ).fetchall()
        return {r["id"]: _record(r) for r in rows}

    def list_articles(
        self,
        since: int | None = None,
        until: int | None = None,
        sources: Sequence[str] | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[ArticleRecord]:
        where, params = filters_sql(since, until, sources)
        sql = f"SELECT * FROM articles a WHERE {where} ORDER BY a.date_int DESC, a.id"
        if limit is not None:
            sql += " LIMIT ? OFFSET ?"
            params += [limit, offset]
        with self._lock:
            return [_record(r) for r in self._db.execute(sql, params).fetchall()]

    def sources(self) -> dict[str, int]:
        with self._lock:
            rows = self._db.execute(
                "SELECT source, COUNT(*) AS n FROM articles WHERE state = 'complete' GROUP BY source"
            ).fetchall()
        return {r["source"]: r["n"] for r in rows}

    def has_sources(self, names: Sequence[str]) -> set[str]:
        """Those of `names` that some complete article comes from (one index probe per name)."""
        with self._lock:
            return {
                name
                for name in dict.fromkeys(names)
                if self._db.execute(
                    "SELECT 1 FROM articles WHERE source = ? AND state = 'complete' LIMIT 1", (name,)
                ).fetchone()
            }

    def counts(self) -> dict[str, int]:
        # Each figure from an index (the ledger's rows hold the articles' texts): a whole count, the
        # pending ones from their partial index, the date bounds from the first and last complete
        # rows along the date index.
        with self._lock:
            total = self._db.execute("SELECT COUNT(*) FROM articles").fetchone()[0]
            pending = self._db.execute("SELECT COUNT(*) FROM articles WHERE state = 'pending'").fetchone()[0]
            first, last = (
                self._db.execute(
                    "SELECT date_int FROM articles WHERE date_int > 0 AND +state = 'complete' "
                    f"ORDER BY date_int {order} LIMIT 1"
                ).fetchone()
                for order in ("ASC", "DESC")
            )
            n_chunks = self._db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
        states = {"complete": int(total) - int(pending), "pending": int(pending)}
        out = {f"articles_{state}": n for state, n in states.items() if n}
        out["chunks"] = int(n_chunks)
        out["first_date"], out["last_date"] = int(first[0]) if first else 0, int(last[0]) if last else 0
        return out

    def get_chunks(self, chunk_ids: Sequence[str]) -> dict[str, tuple[int, int, str]]:
        """chunk id -> (start, end, article id), for chunks of complete articles only."""
        ids = list(dict.fromkeys(chunk_ids))
        if not ids:
            return {}
        with self._lock:
            rows = self._db.execute(
                f"""SELECT c.id, c.start, c."end", c.article_id FROM chunks c
                    JOIN articles a ON a.id = c.article_id
                    WHERE a.state = 'complete' AND c.id IN ({",".join("?" * len(ids))})""",
                ids,
            ).fetchall()
        return {r[0]: (int(r[1]), int(r[2]), str(r[3])) for r in rows}

    def chunk_ids_by_article(self, article_ids: Sequence[str]) -> dict[str, list[str]]:
        """Chunk ids of complete articles, in article order."""
        out: dict[str, list[str]] = {}
        with self._lock:
            for part, marks in in_batches(article_ids):
                rows = self._db.execute(
                    "SELECT c.id, c.article_id FROM chunks c JOIN articles a ON a.id = c.article_id "
                    f"WHERE a.state = 'complete' AND c.article_id IN ({marks}) "
                    "ORDER BY c.article_id, c.idx",
                    part,
                ).fetchall()
                for r in rows:
                    out.setdefault(r["article_id"], []).append(r["id"])
        return out

    def chunk_ids(self) -> list[str]:
        with self._lock:
            return [r[0] for r in self._db.execute("SELECT id FROM chunks")]

    def stored_chunks(self, after: int = 0, limit: int = 1000) -> list[StoredChunkRow]:
        """The chunks of complete articles past rowid `after`, in rowid order, each with its vector
        copy (None where an older version kept none): what the vector index is rebuilt from."""
        with self._lock:
            rows = self._db.execute(
                """SELECT c.rowid, c.id, c.article_id, c.idx, c.start, c."end", c.n_tokens, v.vec
                   FROM chunks c JOIN articles a ON a.id = c.article_id
                   LEFT JOIN chunk_vectors v ON v.rowid = c.rowid
                   WHERE c.rowid > ? AND a.state = 'complete' ORDER BY c.rowid LIMIT ?""",
                (after, limit),
            ).fetchall()
        return [
            StoredChunkRow(int(r[0]), str(r[1]), str(r[2]), int(r[3]), int(r[4]), int(r[5]), int(r[6]), r[7])
            for r in rows
        ]
