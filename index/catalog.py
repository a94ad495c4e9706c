"""The SQLite side of the store: the article ledger, the lexical (BM25) index and a copy of the vectors.

One file, one transaction per step, so the ledger and the lexical index can never
disagree. The ledger's `state` is what makes ingestion atomic across SQLite and
Chroma: an article is `pending` while its vectors are written and becomes
`complete` in the same transaction that writes its lexical rows; readers see
complete articles only, and a crashed run's pending ones are cleaned up on the
next write.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from index.models import Article, Chunk
from index.writers import is_abandoned
from veille.text.french import analyze
from veille.text.language import detect_language

SCHEMA_VERSION = "1"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY,
    content_hash TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'complete')),
    title TEXT NOT NULL, source TEXT NOT NULL, url TEXT NOT NULL,
    date TEXT NOT NULL, date_int INTEGER NOT NULL, lang TEXT NOT NULL,
    text TEXT NOT NULL, origin TEXT NOT NULL, n_chunks INTEGER NOT NULL DEFAULT 0,
    ingested_at TEXT NOT NULL DEFAULT (datetime('now')),
    writer TEXT, pending_since REAL
);
-- Pending rows only: an index over every state would be chosen for state = 'complete', which
-- holds for nearly every row, and turn each look-up by id into a scan of the whole ledger.
CREATE INDEX IF NOT EXISTS articles_pending ON articles(state) WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS articles_date ON articles(date_int);
CREATE INDEX IF NOT EXISTS articles_source ON articles(source);
CREATE TABLE IF NOT EXISTS chunks (
    rowid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    article_id TEXT NOT NULL,
    idx INTEGER NOT NULL,
    start INTEGER NOT NULL, "end" INTEGER NOT NULL, n_tokens INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_article ON chunks(article_id);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(terms, tokenize = 'unicode61');
-- How many chunks hold each term, kept with chunks_fts in the same transactions: the lexical
-- search reads the rarest query terms first (fts5vocab would count them by walking the index).
CREATE TABLE IF NOT EXISTS term_df (term TEXT PRIMARY KEY, df INTEGER NOT NULL) WITHOUT ROWID;
-- Each chunk's vector (float32 bytes; rowid = the chunk's), written and deleted with the chunk: a
-- date- or source-filtered dense search scores the few chunks of its window exactly, where the
-- cost of Chroma's `where` grew with the whole store as measured.
CREATE TABLE IF NOT EXISTS chunk_vectors (rowid INTEGER PRIMARY KEY, vec BLOB NOT NULL);
"""


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


@dataclass(frozen=True)
class LexicalHit:
    chunk_id: str
    score: float  # higher is better (negated FTS5 bm25)


def _filters_sql(
    since: int | None, until: int | None, sources: Sequence[str] | None, complete_only: bool = True
) -> tuple[str, list[object]]:
    clauses: list[str] = ["a.state = 'complete'"] if complete_only else ["1"]
    params: list[object] = []
    if since is not None:
        clauses.append("a.date_int >= ?")
        params.append(since)
    if until is not None:
        clauses.append("a.date_int <= ?")
        params.append(until)
    if sources:
        clauses.append(f"a.source IN ({','.join('?' * len(sources))})")
        params.extend(sources)
    return " AND ".join(clauses), params


class Catalog:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        # One connection shared by the threads of a server; the lock serialises use.
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        self._db.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        if self._db.execute("SELECT 1 FROM sqlite_master WHERE name = 'articles_state'").fetchone():
            self._db.execute("DROP INDEX IF EXISTS articles_state")  # stores from before articles_pending
        columns = {r["name"] for r in self._db.execute("PRAGMA table_info(articles)")}
        # Stores created before writers were recorded gain the columns in place.
        for column, kind in (("writer", "TEXT"), ("pending_since", "REAL")):
            if column not in columns:
                try:
                    self._db.execute(f"ALTER TABLE articles ADD COLUMN {column} {kind}")
                except sqlite3.OperationalError as exc:  # another process opening the store added it first
                    if "duplicate column" not in str(exc):
                        raise
        self._db.create_function("abandoned", 3, is_abandoned)
        self._db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (SCHEMA_VERSION,))
        self._count_terms_once()

    def _count_terms_once(self) -> None:
        """Fill term_df once, for a store written before it existed (for a new store: an empty count).

        Writers of older versions do not keep term_df; they must not write to a store once it is
        counted (stale counts would only make the lexical search choose its terms less well).
        """
        if self.get_meta("term_df") == "counted":
            return
        with self.transaction() as db:
            if db.execute("SELECT value FROM meta WHERE key = 'term_df'").fetchone() is not None:
                return  # another process opening the store counted first
            counts: Counter[str] = Counter()
            for (terms,) in db.execute("SELECT terms FROM chunks_fts"):
                counts.update(_distinct_terms(terms))
            db.execute("DELETE FROM term_df")
            db.executemany("INSERT INTO term_df (term, df) VALUES (?, ?)", counts.items())
            db.execute("INSERT INTO meta VALUES ('term_df', 'counted')")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # -- meta ---------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row["value"])

    def set_meta(self, key: str, value: str) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    # -- ledger -------------------------------------------------------------
    def states(self, ids: Iterable[str]) -> dict[str, tuple[str, str]]:
        """id -> (state, content_hash) for the ids that are known."""
        out: dict[str, tuple[str, str]] = {}
        with self._lock:
            for part, marks in _in_batches(ids):
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
        for part, marks in _in_batches(ids):
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
                added.update(_distinct_terms(terms))
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
                removed.update(_distinct_terms(terms))
            db.execute(f"DELETE FROM chunks_fts WHERE {selection}", (aid,))
            db.execute(f"DELETE FROM chunk_vectors WHERE {selection}", (aid,))
            db.execute("DELETE FROM chunks WHERE article_id = ?", (aid,))
        db.executemany("UPDATE term_df SET df = df - ? WHERE term = ?", [(n, t) for t, n in removed.items()])
        db.executemany("DELETE FROM term_df WHERE term = ? AND df <= 0", [(t,) for t in removed])

    # -- reads --------------------------------------------------------------
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
        where, params = _filters_sql(since, until, sources)
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
            for part, marks in _in_batches(article_ids):
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

    # -- vectors ------------------------------------------------------------
    def estimate_chunks(self, since: int | None, until: int | None, sources: Sequence[str] | None) -> tuple[float, int]:
        """(About how many chunks the filters let through, how many the store holds): the ledger's
        articles they match (pending ones included; the state is not indexed) times the store's mean
        chunks per article."""
        where, params = _filters_sql(since, until, sources, complete_only=False)
        with self._lock:
            articles = self._db.execute("SELECT COUNT(*) FROM articles").fetchone()[0]
            chunks = self._db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
            in_window = self._db.execute(f"SELECT COUNT(*) FROM articles a WHERE {where}", params).fetchone()[0]
        return (float(in_window) * chunks / articles if articles else 0.0), int(chunks)

    def inside(
        self, chunk_ids: Sequence[str], since: int | None, until: int | None, sources: Sequence[str] | None
    ) -> set[str]:
        """Those of `chunk_ids` whose article is complete and passes the filters."""
        where, params = _filters_sql(since, until, sources)
        out: set[str] = set()
        with self._lock:
            for part, marks in _in_batches(chunk_ids):
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
        where, params = _filters_sql(since, until, sources)
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
                        for part, marks in _in_batches(fresh)
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

    def search(
        self,
        query: str,
        limit: int,
        since: int | None = None,
        until: int | None = None,
        sources: Sequence[str] | None = None,
        max_postings: int = 0,
    ) -> list[LexicalHit]:
        """BM25 over the chunks of complete articles, best first.

        With `max_postings`, only the query's rarest terms are searched, as many as fit in that many
        (chunk, term) postings, and always the rarest one the corpus holds, whatever its count: a term
        common to a large share of the corpus weighs little in BM25 but costs a score for each chunk
        that holds it, so leaving it out bounds a query's cost however large the corpus; the dense side
        still reads the whole question.
        """
        terms = list(dict.fromkeys(analyze(query)))
        if detect_language(query) == "en":
            # An English question may be about English articles (indexed with English rules) or
            # French ones (French rules): both analyses are searched.
            terms = list(dict.fromkeys([*analyze(query, lang="en"), *terms]))
        if max_postings:
            terms = self._rarest(terms, max_postings)
        if not terms:
            return []
        match = " OR ".join(f'"{t}"' for t in terms)
        where, params = _filters_sql(since, until, sources)
        if since is None and until is None and not sources:
            # BM25's best chunks ranked inside FTS5 first, then those of incomplete articles dropped:
            # joining every match before ranking cost two look-ups per posting (lexical p50 26.2 ms
            # against 11.0, same hits; 200 ledes on 99,851 chunks, benchmarks/README.md). Only
            # articles mid-write are dropped, so twice `limit` ranked chunks nearly always leave
            # `limit`; when they do not, the joined query below runs.
            hits = self._hits(
                f"""SELECT c.id AS chunk_id, f.score AS score
                    FROM (SELECT rowid, bm25(chunks_fts) AS score FROM chunks_fts
                          WHERE chunks_fts MATCH ? ORDER BY score, rowid LIMIT ?) f
                    JOIN chunks c ON c.rowid = f.rowid
                    JOIN articles a ON a.id = c.article_id
                    WHERE {where}
                    ORDER BY f.score, c.rowid LIMIT ?""",
                [match, 2 * limit, *params, limit],
            )
            if len(hits) == limit:
                return hits
        return self._hits(
            f"""SELECT c.id AS chunk_id, bm25(chunks_fts) AS score
                FROM chunks_fts
                JOIN chunks c ON c.rowid = chunks_fts.rowid
                JOIN articles a ON a.id = c.article_id
                WHERE chunks_fts MATCH ? AND {where}
                ORDER BY score, c.rowid LIMIT ?""",
            [match, *params, limit],
        )

    def _hits(self, sql: str, params: list[object]) -> list[LexicalHit]:
        with self._lock:
            rows = self._db.execute(sql, params).fetchall()
        return [LexicalHit(r["chunk_id"], -float(r["score"])) for r in rows]

    def _rarest(self, terms: list[str], max_postings: int) -> list[str]:
        df: dict[str, int] = {}
        with self._lock:
            for part, marks in _in_batches(terms):
                rows = self._db.execute(f"SELECT term, df FROM term_df WHERE term IN ({marks})", part).fetchall()
                df.update({r["term"]: int(r["df"]) for r in rows})
        kept: list[str] = []
        total = 0
        for term in sorted(terms, key=lambda t: df.get(t, 0)):
            if total and total + df.get(term, 0) > max_postings:
                break
            kept.append(term)
            total += df.get(term, 0)
        return kept


def _distinct_terms(fts_row: str) -> set[str]:
    """The terms a chunk's FTS row counts once each in term_df: insert, delete and the one-time count agree."""
    return set(fts_row.split())


def _in_batches(items: Iterable[str], size: int = 500) -> Iterator[tuple[list[str], str]]:
    """`items` in slices that fit one `IN (…)` (500: under SQLite's cap on bound parameters), with their `?`s."""
    items = list(items)
    for i in range(0, len(items), size):
        part = items[i : i + size]
        yield part, ",".join("?" * len(part))


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
