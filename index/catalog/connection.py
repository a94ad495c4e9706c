"""The catalog's one SQLite connection: schema and in-place migrations, transactions, meta values,
and the SQL helpers every part of the catalog shares."""

from __future__ import annotations

import sqlite3
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from index.writers import is_abandoned

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


def filters_sql(
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


def distinct_terms(fts_row: str) -> set[str]:
    """The terms a chunk's FTS row counts once each in term_df: insert, delete and the one-time count agree."""
    return set(fts_row.split())


def in_batches(items: Iterable[str], size: int = 500) -> Iterator[tuple[list[str], str]]:
    """`items` in slices that fit one `IN (…)` (500: under SQLite's cap on bound parameters), with their `?`s."""
    items = list(items)
    for i in range(0, len(items), size):
        part = items[i : i + size]
        yield part, ",".join("?" * len(part))


class Connection:
    """One connection shared by the threads of a server; the lock serialises its use."""

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
                counts.update(distinct_terms(terms))
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

    def get_meta(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row["value"])

    def set_meta(self, key: str, value: str) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))
