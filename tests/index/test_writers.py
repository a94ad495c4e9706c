"""Pending articles are cleaned up only when their writer is gone."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from index.catalog import Catalog
from index.chunking import chunk_article
from index.models import Article
from index.writers import HOST, is_abandoned, lease

STALE = 1800.0


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
        proc.kill()
        # Killed but not yet reaped (a zombie): it writes no more.
        deadline = time.monotonic() + 10
        while Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert is_abandoned(token, time.time(), stale_after_s=60)
    finally:
        proc.kill()
        proc.wait()
    assert is_abandoned(token, time.time(), stale_after_s=60)


def test_a_writer_on_another_host_is_trusted_until_its_row_is_stale() -> None:
    token = "elsewhere.example|123|456|batch"
    assert not is_abandoned(token, since=1000.0, stale_after_s=60, now=1030.0)
    assert is_abandoned(token, since=1000.0, stale_after_s=60, now=1061.0)
    assert is_abandoned(None, None, stale_after_s=60)  # rows from before writers were recorded


def test_recovery_takes_over_only_abandoned_articles(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path / "c.sqlite3")
    try:
        busy, dead = Article(id="busy", text="Texte en cours."), Article(id="dead", text="Texte abandonné.")
        with lease() as live:
            assert catalog.claim([busy], live, STALE) == {"busy"}
            with lease() as gone:
                assert catalog.claim([dead], gone, STALE) == {"dead"}
            assert sorted(catalog.pending_ids()) == ["busy", "dead"]
            with lease() as cleaner:
                assert catalog.claim_abandoned(cleaner, STALE) == ["dead"]
                catalog.remove(["busy", "dead"], cleaner)  # only what it holds goes
            assert catalog.pending_ids() == ["busy"]
    finally:
        catalog.close()


def test_an_article_has_one_writer_at_a_time(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path / "c.sqlite3")
    article = Article(id="x", text="Le conseil municipal a voté le budget.")
    chunks = chunk_article(article)
    try:
        with lease() as first, lease() as second:
            assert catalog.claim([article], first, STALE) == {"x"}
            assert catalog.claim([article], second, STALE) == set()  # the first one is alive
            assert catalog.busy_ids(["x"], STALE) == {"x"}
            assert catalog.complete([article], chunks, second, None) == set()  # not its to complete
            assert catalog.states(["x"])["x"][0] == "pending"
            assert catalog.complete([article], chunks, first, None) == {"x"}
            assert catalog.busy_ids(["x"], STALE) == set()
            # Once complete, the next writer may take it (to replace or remove it).
            assert catalog.claim_ids(["x"], second, STALE) == {"x"}
    finally:
        catalog.close()


def test_an_abandoned_article_taken_by_a_new_writer_is_not_recovered_under_it(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path / "c.sqlite3")
    article = Article(id="x", text="Le conseil municipal a voté le budget.")
    try:
        with lease() as gone:
            catalog.claim([article], gone, STALE)
        with lease() as new, lease() as cleaner:
            assert catalog.claim([article], new, STALE) == {"x"}  # the new writer takes it over first
            assert catalog.claim_abandoned(cleaner, STALE) == []  # so recovery leaves it alone
            assert catalog.complete([article], chunk_article(article), new, None) == {"x"}
        assert catalog.states(["x"])["x"][0] == "complete"
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
        with lease() as cleaner:
            assert catalog.claim_abandoned(cleaner, STALE) == ["old"]
    finally:
        catalog.close()
