"""The Chroma side of the store: chunk vectors with their metadata.

We always hand Chroma our own vectors: its default embedding function would
download a model, and a collection saved with a custom function cannot be
reopened by a process that has not registered it.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import sqlite3
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import chromadb
import numpy as np
from chromadb.config import Settings as ChromaSettings
from chromadb.errors import ChromaError, NotFoundError
from numpy.typing import NDArray

from index.embedders import Vectors
from index.models import Article, Chunk


class StoreError(RuntimeError):
    """The vector store cannot be used as configured; the message says what to change."""


@dataclass(frozen=True)
class DenseHit:
    chunk_id: str
    score: float  # cosine similarity, higher is better


def exact_search(query: Vectors, ids: Sequence[str], matrix: Vectors, limit: int) -> list[DenseHit]:
    """The `limit` rows of `matrix` nearest to `query` by cosine similarity, best first: what
    Chroma's index approximates, computed over every row given."""
    if not len(ids) or limit < 1:
        return []
    q = np.asarray(query, dtype=np.float32).ravel()
    norms = np.linalg.norm(matrix, axis=1) * float(np.linalg.norm(q))
    scores = (matrix @ q) / np.where(norms > 0, norms, 1.0)
    return best_hits(scores, ids.__getitem__, limit)


def best_hits(scores: NDArray[np.floating[Any]], id_of: Callable[[int], str], limit: int) -> list[DenseHit]:
    """The `limit` best of `scores` (one per row; row i is chunk `id_of(i)`), best first, ties by
    chunk id: every exact search orders its hits this way, so they agree with each other."""
    take = min(limit, len(scores))
    if take < 1:
        return []
    best = np.argpartition(-scores, take - 1)[:take]
    ranked = sorted(best, key=lambda i: (-scores[i], id_of(i)))
    return [DenseHit(id_of(i), float(scores[i])) for i in ranked]


def connect(chroma_url: str, path: Path) -> Any:
    settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if not chroma_url:
        path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(path), settings=settings)
    url = urlparse(chroma_url if "://" in chroma_url else f"http://{chroma_url}")
    if not url.hostname:
        raise StoreError(f"VEILLE_CHROMA_URL={chroma_url!r} is not a URL like http://127.0.0.1:8000")
    try:
        client = chromadb.HttpClient(
            host=url.hostname,
            port=url.port or (443 if url.scheme == "https" else 8000),
            ssl=url.scheme == "https",
            settings=settings,
        )
        client.heartbeat()
    except Exception as exc:
        raise StoreError(f"cannot reach the Chroma server at {chroma_url} ({exc}); is `chroma run` up?") from exc
    return client


def drop_collection(client: Any, name: str) -> bool:
    """Delete the collection `name` with its files; False when there was none."""
    if name not in {c.name for c in client.list_collections()}:
        return False
    client.delete_collection(name)
    return True


_SEGMENT_DIR = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def remove_orphan_segments(path: Path) -> int:
    """Delete, in an embedded Chroma folder, the index folders no collection uses any more; returns
    the bytes freed. Chroma 1.x forgets a deleted collection but leaves its HNSW folder on disk
    (chroma-core/chroma#5259): without this, each rebuild would keep the old index's size."""
    catalog = path / "chroma.sqlite3"
    if not catalog.is_file():
        return 0
    with closing(sqlite3.connect(f"file:{catalog}?mode=ro", uri=True)) as db:
        try:
            live = {str(r[0]) for r in db.execute("SELECT id FROM segments")}
        except sqlite3.Error:
            return 0  # not the layout we know: leave Chroma's folder as it is
    freed = 0
    for folder in path.iterdir():
        if folder.is_dir() and _SEGMENT_DIR.match(folder.name) and folder.name not in live:
            freed += sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
            shutil.rmtree(folder)
    return freed


def _where(since: int | None, until: int | None, sources: Sequence[str] | None) -> dict[str, Any] | None:
    clauses: list[dict[str, Any]] = []
    if since is not None:
        clauses.append({"date": {"$gte": since}})
    if until is not None:
        clauses.append({"date": {"$lte": until}})
    if sources:
        clauses.append({"source": {"$in": list(sources)}})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def retired_name(collection: str) -> str:
    """Where `veille rebuild-vectors` puts the collection it replaces until the new one has its name."""
    return f"{collection}-old"


def _restore_retired(client: Any, collection: str) -> None:
    """A rebuild stopped between its two renames left the complete old collection aside and none under
    the name: give it the name back instead of opening a new, empty one."""
    try:
        client.get_collection(collection, embedding_function=None)
        return
    except NotFoundError:
        pass
    with contextlib.suppress(ChromaError):  # nothing aside, or another process gave it back first
        client.get_collection(retired_name(collection), embedding_function=None).modify(name=collection)


class VectorIndex:
    def __init__(self, client: Any, collection: str, embedder_name: str, dim: int) -> None:
        self._client = client
        try:
            _restore_retired(client, collection)
            self._col = client.get_or_create_collection(
                name=collection,
                metadata={"hnsw:space": "cosine", "embedder": embedder_name, "dim": dim},
                embedding_function=None,
            )
        except Exception as exc:
            raise StoreError(f"cannot open the Chroma collection {collection!r}: {exc}") from exc
        meta = self._col.metadata or {}
        built_with = meta.get("embedder")
        if built_with and built_with != embedder_name:
            raise StoreError(
                f"the collection {collection!r} was built with the embedder {built_with!r}, but "
                f"{embedder_name!r} is configured; set VEILLE_EMBEDDER back, or use another "
                "VEILLE_COLLECTION (and VEILLE_DATA_DIR) and ingest again"
            )
        self.collection = collection

    def _call(self, method: str, **kwargs: Any) -> Any:
        """`method` of the Chroma collection. Replaced under its name (`veille rebuild-vectors`, maybe
        from another process), the handle still names the old one by id: open the name again, once."""
        try:
            return getattr(self._col, method)(**kwargs)
        except NotFoundError:
            _restore_retired(self._client, self.collection)
            self._col = self._client.get_collection(self.collection, embedding_function=None)
            return getattr(self._col, method)(**kwargs)

    def count(self) -> int:
        return int(self._call("count"))

    def upsert(self, articles: dict[str, Article], chunks: Sequence[Chunk], vectors: Vectors) -> None:
        for i in range(0, len(chunks), 256):  # Chroma's sweet spot is batches of a few hundred
            part = chunks[i : i + 256]
            self._call(
                "upsert",
                ids=[c.id for c in part],
                embeddings=vectors[i : i + 256],
                documents=[c.text for c in part],
                metadatas=[_metadata(articles[c.article_id], c) for c in part],
            )

    def delete_ids(self, chunk_ids: Sequence[str]) -> None:
        for i in range(0, len(chunk_ids), 500):
            self._call("delete", ids=list(chunk_ids[i : i + 500]))

    def rename(self, name: str) -> None:
        self._col.modify(name=name)
        self.collection = name

    def delete_articles(self, article_ids: Sequence[str]) -> None:
        for i in range(0, len(article_ids), 200):
            self._call("delete", where={"article_id": {"$in": list(article_ids[i : i + 200])}})

    def all_ids(self) -> list[str]:
        out: list[str] = []
        offset = 0
        while True:
            got = self._call("get", include=[], limit=5000, offset=offset)
            out.extend(got["ids"])
            if len(got["ids"]) < 5000:
                return out
            offset += 5000

    def vectors_of(self, chunk_ids: Sequence[str]) -> dict[str, list[float]]:
        """Stored vectors by chunk id (nothing re-embedded); unknown ids are absent."""
        out: dict[str, list[float]] = {}
        for i in range(0, len(chunk_ids), 500):
            got = self._call("get", ids=list(chunk_ids[i : i + 500]), include=["embeddings"])
            for cid, vec in zip(got["ids"], got["embeddings"], strict=True):
                out[cid] = [float(x) for x in vec]
        return out

    def search(
        self,
        vector: Vectors,
        limit: int,
        since: int | None = None,
        until: int | None = None,
        sources: Sequence[str] | None = None,
    ) -> list[DenseHit]:
        # No count() first: Chroma answers an empty collection with no hits, and counting cost more
        # than the search itself (11 vs 3 ms per query at 50k chunks).
        res = self._call(
            "query",
            query_embeddings=[vector],
            n_results=limit,
            where=_where(since, until, sources),
            include=["distances"],
        )
        ids = res["ids"][0]
        dists = (res.get("distances") or [[]])[0]
        return [DenseHit(cid, 1.0 - float(d)) for cid, d in zip(ids, dists, strict=True)]


def _metadata(article: Article, chunk: Chunk) -> dict[str, str | int]:
    return {
        "article_id": article.id,
        "chunk": chunk.index,
        "start": chunk.start,
        "end": chunk.end,
        "n_tokens": chunk.n_tokens,
        "date": article.date_int,
        "source": article.source,
        "title": article.title[:500],
        "lang": article.lang,
    }
