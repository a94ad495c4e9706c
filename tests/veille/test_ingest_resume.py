"""`veille ingest` killed mid-run (SIGKILL, no clean-up of its own) and run again finishes the rest
without embedding again what the first run completed."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from index.sentences import sentence_spans
from index.store import Store
from tests.helpers import catalog_ids, chroma_ids, make_settings, plain, sample_articles

VEILLE = Path(sys.executable).parent / "veille"
BATCH = 2


def _small_articles(folder: Path) -> tuple[Path, list[dict[str, str]]]:
    """One article per pair of sentences of the sample corpus: many small batches to interrupt."""
    records = []
    for a in sample_articles():
        spans = sentence_spans(a.text)
        for i in range(0, len(spans) - 1, 2):
            text = a.text[spans[i][0] : spans[i + 1][1]]
            if len(text.split()) >= 12:
                fields = {"title": a.title, "text": text, "date": a.date, "source": a.source}
                records.append({"id": f"{a.id}-{i}", **fields})
    path = folder / "slice.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n", encoding="utf-8")
    return path, records


def _complete_ids(db: Path) -> set[str]:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as con:
            return {row[0] for row in con.execute("SELECT id FROM articles WHERE state = 'complete'")}
    except sqlite3.OperationalError:  # not created yet
        return set()


@pytest.mark.slow
def test_killed_ingestion_resumes_without_redoing_done_articles(tmp_path: Path) -> None:
    data = tmp_path / "data"
    path, records = _small_articles(tmp_path)
    assert len(records) >= 12
    env = {**os.environ, "VEILLE_DATA_DIR": str(data), "VEILLE_INGEST_BATCH_CHUNKS": str(BATCH)}
    db = make_settings(data).sqlite_path

    first = subprocess.Popen([str(VEILLE), "ingest", str(path)], env=env, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while len(_complete_ids(db)) < 3:
        assert first.poll() is None, "the first run ended before it could be interrupted"
        assert time.monotonic() < deadline, "no article completed in 300 s"
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    first.wait(30)
    done_before = _complete_ids(db)
    assert 3 <= len(done_before) < len(records), "the kill should land mid-run"

    second = subprocess.run([str(VEILLE), "ingest", str(path)], env=env, capture_output=True, text=True, timeout=600)
    out = plain(second.stdout)
    assert second.returncode == 0, second.stdout + second.stderr
    m = re.search(r"(\d+) added, (\d+) unchanged, (\d+) replaced, (\d+) rejected \((\d+) chunks written\)", out)
    assert m, out
    added, unchanged, replaced, rejected, written = map(int, m.groups())
    assert unchanged == len(done_before), "every article completed before the kill is skipped"
    assert added == len(records) - len(done_before) and replaced == rejected == 0

    store = Store(make_settings(data))
    try:
        counts = store.catalog.counts()
        assert counts["articles_complete"] == len(records)
        assert "articles_pending" not in counts
        assert chroma_ids(store) == catalog_ids(store), "no vector without its lexical rows, nor the reverse"
        done_chunks = sum(len(catalog_ids(store, aid)) for aid in done_before)
        assert written == counts["chunks"] - done_chunks > 0, "the second run embedded only what was left"
    finally:
        store.close()
