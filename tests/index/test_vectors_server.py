"""Chroma as a server: a real `chroma run`, and a clear error when it cannot be reached."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

import chromadb
import pytest

from index.embedders import Embedder
from index.ingest import Ingestor
from index.readers import ReadOptions, read_inputs
from index.rebuild import rebuild_vectors
from index.store import Filters, Store
from index.vectors import StoreError
from rag.retrieval import HybridRetriever
from tests.helpers import DMITRIEV_QUERY, SAMPLE_DIR, catalog_ids, chroma_ids, free_port, make_settings, running_server

CHROMA = Path(sys.executable).parent / "chroma"
STARTUP_TIMEOUT_S = 60.0


def test_unreachable_chroma_url_is_a_clear_store_error(tmp_path: Path, embedder: Embedder) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    store = Store(make_settings(tmp_path / "data", chroma_url=url))
    try:
        with pytest.raises(StoreError) as info:
            _ = store.vectors
        message = str(info.value)
        assert f"cannot reach the Chroma server at {url}" in message
        assert "chroma run" in message
        # Ingestion says the same, and leaves nothing behind in the ledger.
        with pytest.raises(StoreError, match="cannot reach the Chroma server"):
            Ingestor(store).ingest(read_inputs([SAMPLE_DIR], ReadOptions()))
        assert store.catalog.counts().get("articles_complete", 0) == 0
        assert store.catalog.pending_ids() == []
        assert not (tmp_path / "data" / "chroma").exists(), "server mode must not fall back to embedded Chroma"
    finally:
        store.close()


@pytest.mark.parametrize("url", ["http://", "::::"])
def test_malformed_chroma_url_is_a_store_error(tmp_path: Path, embedder: Embedder, url: str) -> None:
    store = Store(make_settings(tmp_path / "data", chroma_url=url))
    try:
        with pytest.raises(StoreError, match=re.escape("is not a URL like http://127.0.0.1:8000")):
            _ = store.vectors
    finally:
        store.close()


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real `chroma run` on a free loopback port, always terminated."""
    assert CHROMA.exists(), f"the chroma CLI is missing from {CHROMA.parent}"
    folder = tmp_path_factory.mktemp("chroma-server")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [str(CHROMA), "run", "--path", str(folder / "db"), "--host", "127.0.0.1", "--port", str(port)]
    with running_server(cmd, f"{url}/api/v2/heartbeat", folder / "server.log", timeout_s=STARTUP_TIMEOUT_S):
        yield url


@pytest.mark.slow
@pytest.mark.server
def test_ingest_and_search_through_a_chroma_server(tmp_path: Path, chroma_server: str, embedder: Embedder) -> None:
    data_dir = tmp_path / "data"
    store = Store(make_settings(data_dir, chroma_url=chroma_server))
    try:
        ingestor = Ingestor(store)
        report = ingestor.ingest(read_inputs([SAMPLE_DIR], ReadOptions()))
        assert len(report.added) == 2 and report.chunks_written > 2
        assert not (data_dir / "chroma").exists(), "the vectors must live on the server"
        assert store.stats()["chroma"] == chroma_server

        # What the server holds, seen by a separate client.
        port = int(chroma_server.rsplit(":", 1)[1])
        remote = chromadb.HttpClient(host="127.0.0.1", port=port).get_collection("veille")
        assert remote.count() == report.chunks_written == store.catalog.counts()["chunks"]
        assert set(remote.get(include=[])["ids"]) == catalog_ids(store) == chroma_ids(store)

        passages = HybridRetriever(store).retrieve(DMITRIEV_QUERY)
        assert "Dmitriev" in passages[0].text
        dense = HybridRetriever(store).retrieve("Kirill Dmitriev", k=3, mode="dense")
        assert dense and all(p.dense_rank is not None for p in dense)

        again = ingestor.ingest(read_inputs([SAMPLE_DIR], ReadOptions()))
        assert len(again.unchanged) == 2 and remote.count() == report.chunks_written

        deleted, unknown = ingestor.delete([report.added[0], "inconnu"])
        assert (deleted, unknown) == ([report.added[0]], ["inconnu"])
        assert remote.count() == len(catalog_ids(store)) < report.chunks_written
        assert not any(i.startswith(f"{report.added[0]}:") for i in remote.get(include=[])["ids"])
    finally:
        store.close()


@pytest.mark.slow
@pytest.mark.server
def test_an_embedded_store_moves_to_a_chroma_server_by_a_rebuild(
    tmp_path: Path, chroma_server: str, embedder: Embedder
) -> None:
    data_dir = tmp_path / "data"
    embedded = Store(make_settings(data_dir, collection="moved"))
    served = Store(make_settings(data_dir, collection="moved", chroma_url=chroma_server))
    reader = Store(served.settings)  # another client, its collection open before the rebuild
    try:
        Ingestor(embedded).ingest(read_inputs([SAMPLE_DIR], ReadOptions()))
        assert served.vectors.count() == reader.vectors.count() == 0

        report = rebuild_vectors(served)

        assert report.chunks == len(catalog_ids(served)) and report.embedded == 0 and report.freed_bytes == 0
        assert chroma_ids(served) == catalog_ids(served) == chroma_ids(embedded)
        for query in (DMITRIEV_QUERY, "Kirill Dmitriev"):
            expected = [h.chunk_id for h in embedded.search_dense(query, 5, Filters())]
            assert [h.chunk_id for h in served.search_dense(query, 5, Filters())] == expected
            assert [h.chunk_id for h in reader.search_dense(query, 5, Filters())] == expected
    finally:
        reader.close()
        served.close()
        embedded.close()
