"""The writer ledger: which articles are pending under which writer, completed (lexical rows and
vector copies written in the same transaction) or removed, all or nothing."""

from __future__ import annotations

import sqlite3
import time
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np
from numpy.typing import NDArray

from index.catalog.connection import Connection, distinct_terms, in_batches
from index.models import Article, Chunk
from index.writers import is_abandoned
from veille.text.french import analyze


class Ledger(Connection):
    def states(self, ids: Iterable[str]) -> dict[str, tuple[str, str]]:
        """id -> (state, content_hash) for the ids that are known."""
        out: dict[str, tuple[str, str]] = {}
        with self._lock:
            for part, marks in in_batches(ids):
                rows = self._db.execute(
                    f"SELECT id, state, content_hash FROM articles WHERE id IN ({marks})", part
                ).fetchall()
                out.update({r["id"]: (r["state"], r["content_hash"]) for r in rows})
        return out

    def claim(self, articles: Sequence[Article], writer: str, stale_after_s: float) -> set[str]:
        """Mark articles pending under `writer`; those another live writer holds are left to it.

        Returns the ids now held by `writer`: only it may complete or remove them.
        """
        now = time.time()
        with self.transaction() as db:
            db.executemany(
                """INSERT INTO articles
                   (id, content_hash, state, title, source, url, date, date_int, lang, text, origin,
                    writer, pending_since)
                   VALUES (?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT(id) DO UPDATE SET state = 'pending', writer = excluded.writer,
                   pending_since = excluded.pending_since
                   WHERE articles.state = 'complete' OR abandoned(articles.writer, articles.pending_since, ?)""",
                [
                    (
                        a.id, a.content_hash, a.title, a.source, a.url, a.date, a.date_int, a.lang, a.text,
                        a.origin, writer, now, stale_after_s,
                    )
                    for a in articles
                ],
            )  # fmt: skip
            return self._held(db, [a.id for a in articles], writer)

    def claim_ids(self, ids: Sequence[str], writer: str, stale_after_s: float) -> set[str]:
        """Mark existing articles pending under `writer` (for removal), as `claim` does."""
        with self.transaction() as db:
            db.executemany(
                """UPDATE articles SET state = 'pending', writer = ?, pending_since = ?
                   WHERE id = ? AND (state = 'complete' OR abandoned(writer, pending_since, ?))""",
                [(writer, time.time(), i, stale_after_s) for i in ids],
            )
            return self._held(db, ids, writer)

    def claim_abandoned(self, writer: str, stale_after_s: float) -> list[str]:
        """Take over the pending articles whose writer is gone, so that only `writer` cleans them up."""
        with self.transaction() as db:
            rows = db.execute(
                """UPDATE articles SET writer = ?, pending_since = ?
                   WHERE state = 'pending' AND abandoned(writer, pending_since, ?) RETURNING id""",
                (writer, time.time(), stale_after_s),
            ).fetchall()
        return sorted(r["id"] for r in rows)

    @staticmethod
    def _held(db: sqlite3.Connection, ids: Sequence[str], writer: str) -> set[str]:
        held: set[str] = set()
        for part, marks in in_batches(ids):
            rows = db.execute(
                f"SELECT id FROM articles WHERE state = 'pending' AND writer = ? AND id IN ({marks})",
                [writer, *part],
            )
            held.update(r["id"] for r in rows)
        return held

    def pending_ids(self) -> list[str]:
        with self._lock:
            return [r["id"] for r in self._db.execute("SELECT id FROM articles WHERE state = 'pending'")]

    def busy_ids(self, ids: Sequence[str], stale_after_s: float) -> set[str]:
        """Those of `ids` that a live writer is writing or removing right now."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT id, writer, pending_since FROM articles WHERE state = 'pending' "
                f"AND id IN ({','.join('?' * len(ids))})",
                list(ids),
            ).fetchall()
        return {r["id"] for r in rows if not is_abandoned(r["writer"], r["pending_since"], stale_after_s)}

    def complete(
        self,
        articles: Sequence[Article],
        chunks: Sequence[Chunk],
        writer: str,
        vectors: NDArray[np.float32] | None,
    ) -> set[str]:
        """Write lexical rows (and `vectors`, one row per chunk) and flip the articles `writer` holds
        to complete, all or nothing.

        Returns the ids completed: an article another writer took over (ours looked abandoned to it)
        is left to that writer.
        """
        titles = {a.id: a.title for a in articles}
        langs = {a.id: a.lang for a in articles}
        if vectors is not None and len(vectors) != len(chunks):
            raise ValueError(f"{len(vectors)} vectors for {len(chunks)} chunks")
        with self.transaction() as db:
            held = self._held(db, [a.id for a in articles], writer)
            articles = [a for a in articles if a.id in held]
            self._delete_chunks(db, sorted(held))
            added: Counter[str] = Counter()
            for i, c in enumerate(chunks):
                if c.article_id not in held:
                    continue
                cur = db.execute(
                    'INSERT INTO chunks (id, article_id, idx, start, "end", n_tokens) VALUES (?, ?, ?, ?, ?, ?)',
                    (c.id, c.article_id, c.index, c.start, c.end, c.n_tokens),
                )
                text = f"{titles.get(c.article_id, '')}\n{c.text}"
                terms = " ".join(analyze(text, variants=True, lang=langs.get(c.article_id, "fr")))
                db.execute("INSERT INTO chunks_fts (rowid, terms) VALUES (?, ?)", (cur.lastrowid, terms))
                added.update(distinct_terms(terms))
                if vectors is not None:
                    db.execute(
                        # REPLACE: a copy an older writer left behind under a reused rowid is not ours.
                        "INSERT OR REPLACE INTO chunk_vectors (rowid, vec) VALUES (?, ?)",
                        (cur.lastrowid, np.asarray(vectors[i], dtype=np.float32).tobytes()),
                    )
            db.executemany(
                "INSERT INTO term_df (term, df) VALUES (?, ?) ON CONFLICT(term) DO UPDATE SET df = df + excluded.df",
                added.items(),
            )
            counts: dict[str, int] = {}
            for c in chunks:
                if c.article_id in held:
                    counts[c.article_id] = counts.get(c.article_id, 0) + 1
            db.executemany(
                """UPDATE articles SET state = 'complete', content_hash = ?, title = ?, source = ?, url = ?,
                   date = ?, date_int = ?, lang = ?, text = ?, origin = ?, n_chunks = ?,
                   ingested_at = strftime('%Y-%m-%d %H:%M:%f', 'now') WHERE id = ?""",
                [
                    (
                        a.content_hash,
                        a.title,
                        a.source,
                        a.url,
                        a.date,
                        a.date_int,
                        a.lang,
                        a.text,
                        a.origin,
                        counts.get(a.id, 0),
                        a.id,
                    )
                    for a in articles
                ],
            )
        return held

    def remove(self, ids: Sequence[str], writer: str) -> None:
        """Remove the articles of `ids` that `writer` holds, with their lexical rows."""
        with self.transaction() as db:
            held = sorted(self._held(db, ids, writer))
            self._delete_chunks(db, held)
            db.executemany("DELETE FROM articles WHERE id = ?", [(i,) for i in held])

    @staticmethod
    def _delete_chunks(db: sqlite3.Connection, article_ids: Sequence[str]) -> None:
        removed: Counter[str] = Counter()
        for aid in article_ids:
            selection = "rowid IN (SELECT rowid FROM chunks WHERE article_id = ?)"
            for (terms,) in db.execute(f"SELECT terms FROM chunks_fts WHERE {selection}", (aid,)):
                removed.update(distinct_terms(terms))
            db.execute(f"DELETE FROM chunks_fts WHERE {selection}", (aid,))
            db.execute(f"DELETE FROM chunk_vectors WHERE {selection}", (aid,))
            db.execute("DELETE FROM chunks WHERE article_id = ?", (aid,))
        db.executemany("UPDATE term_df SET df = df - ? WHERE term = ?", [(n, t) for t, n in removed.items()])
        db.executemany("DELETE FROM term_df WHERE term = ? AND df <= 0", [(t,) for t in removed])

    def clock(self) -> str:
        """The catalog's time as `ingested_at` records it (to the millisecond: a rebuild that starts in the
        second an article was written must not take it for one written during the rebuild)."""
        with self._lock:
            return str(self._db.execute("SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')").fetchone()[0])

    def completed_since(self, when: str) -> set[str]:
        """Complete articles written (or rewritten) at or after `when` (a `clock()` reading)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id FROM articles WHERE ingested_at >= ? AND +state = 'complete'", (when,)
            ).fetchall()
        return {str(r[0]) for r in rows}
