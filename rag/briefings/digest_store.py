"""Digests already written, kept so a later one can say what is new and the API can serve them.

A small SQLite file next to the index (`digests.sqlite` in the data folder); it
holds rag/'s own outputs, never articles, so the index stays index/'s alone.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

from rag.briefings.digest_models import Digest

_SCHEMA = """
CREATE TABLE IF NOT EXISTS digests (
    key TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    sources TEXT NOT NULL,
    since TEXT, until TEXT,
    created_at TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS digests_until ON digests(kind, sources, until);
"""


class DigestStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False)
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def save(self, digest: Digest) -> None:
        body = json.dumps(digest.to_dict(with_centroids=True), ensure_ascii=False)
        with self._lock, self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO digests VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    digest.key,
                    digest.kind,
                    digest.subject,
                    ",".join(sorted(digest.sources_filter)),
                    digest.since,
                    digest.until,
                    digest.created_at,
                    body,
                ),
            )

    def get(self, key: str) -> Digest | None:
        with self._lock:
            row = self._db.execute("SELECT body FROM digests WHERE key = ?", (key,)).fetchone()
        return Digest.from_dict(json.loads(row[0])) if row else None

    def previous(self, since: str, sources: list[str]) -> Digest | None:
        """The latest date-window digest that ends before `since`, on the same sources."""
        with self._lock:
            row = self._db.execute(
                "SELECT body FROM digests WHERE kind = 'digest' AND sources = ? AND until < ? "
                "ORDER BY until DESC, created_at DESC LIMIT 1",
                (",".join(sorted(sources)), since),
            ).fetchone()
        return Digest.from_dict(json.loads(row[0])) if row else None

    def close(self) -> None:
        self._db.close()
