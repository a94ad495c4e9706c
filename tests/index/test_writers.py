"""Pending articles are cleaned up only when their writer is gone."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from index.catalog import Catalog
from index.models import Article
from index.writers import HOST, is_abandoned, lease


def test_a_batch_of_this_process_is_live_until_its_lease_ends() -> None:
    with lease() as token:
        assert not is_abandoned(token, time.time(), stale_after_s=60)
    assert is_abandoned(token, time.time(), stale_after_s=60)


def test_a_writer_process_is_live_while_it_runs_and_abandoned_once_it_exits() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        start = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
        token = f"{HOST}|{proc.pid}|{start}|batch"
        assert not is_abandoned(token, time.time(), stale_after_s=60)
        # The same pid with another start time is another process: the writer is gone.
        assert is_abandoned(f"{HOST}|{proc.pid}|{int(start) + 1}|batch", time.time(), stale_after_s=60)
    finally:
        proc.kill()
        proc.wait()
    assert is_abandoned(token, time.time(), stale_after_s=60)


def test_a_writer_on_another_host_is_trusted_until_its_row_is_stale() -> None:
    token = "elsewhere.example|123|456|batch"
    assert not is_abandoned(token, since=1000.0, stale_after_s=60, now=1030.0)
    assert is_abandoned(token, since=1000.0, stale_after_s=60, now=1061.0)
    assert is_abandoned(None, None, stale_after_s=60)  # rows from before writers were recorded


def test_recovery_leaves_a_live_writers_pending_articles_alone(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path / "c.sqlite3")
    try:
        busy, dead = Article(id="busy", text="Texte en cours."), Article(id="dead", text="Texte abandonné.")
        with lease() as live:
            catalog.mark_pending([busy], live)
            with lease() as gone:
                catalog.mark_pending([dead], gone)
            assert sorted(catalog.pending_ids()) == ["busy", "dead"]
            assert catalog.abandoned_ids(stale_after_s=1800) == ["dead"]
        assert sorted(catalog.abandoned_ids(stale_after_s=1800)) == ["busy", "dead"]
    finally:
        catalog.close()


def test_a_store_from_before_writers_were_recorded_gains_the_columns(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path)
    db.execute(
        "CREATE TABLE articles (id TEXT PRIMARY KEY, content_hash TEXT NOT NULL, state TEXT NOT NULL, "
        "title TEXT NOT NULL, source TEXT NOT NULL, url TEXT NOT NULL, date TEXT NOT NULL, date_int INTEGER "
        "NOT NULL, lang TEXT NOT NULL, text TEXT NOT NULL, origin TEXT NOT NULL, n_chunks INTEGER NOT NULL "
        "DEFAULT 0, ingested_at TEXT NOT NULL DEFAULT (datetime('now')))"
    )
    db.execute("INSERT INTO articles VALUES ('old', 'h', 'pending', '', '', '', '', 0, 'fr', 't', '', 0, '')")
    db.commit()
    db.close()
    catalog = Catalog(path)
    try:
        assert catalog.abandoned_ids(stale_after_s=1800) == ["old"]
    finally:
        catalog.close()
