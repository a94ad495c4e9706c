"""The SQLite side of the store: the article ledger, the lexical (BM25) index and a copy of the vectors.

One file, one transaction per step, so the ledger and the lexical index can never
disagree. The ledger's `state` is what makes ingestion atomic across SQLite and
Chroma: an article is `pending` while its vectors are written and becomes
`complete` in the same transaction that writes its lexical rows; readers see
complete articles only, and a crashed run's pending ones are cleaned up on the
next write.
"""

from __future__ import annotations

from index.catalog.connection import SCHEMA_VERSION
from index.catalog.ledger import Ledger
from index.catalog.lexical import LexicalHit, LexicalIndex
from index.catalog.reads import ArticleReads, ArticleRecord, StoredChunkRow
from index.catalog.vector_copies import VectorChanges, VectorCopies

__all__ = ["SCHEMA_VERSION", "ArticleRecord", "Catalog", "LexicalHit", "StoredChunkRow", "VectorChanges"]


class Catalog(Ledger, ArticleReads, LexicalIndex, VectorCopies):
    """The SQLite side of the store, one job a module (connection, ledger, reads, lexical index,
    vector copies) around one connection."""
