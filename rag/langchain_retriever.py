"""Veille's hybrid retrieval behind LangChain's `BaseRetriever` interface."""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from index.store import Filters
from rag.retrieval import HybridRetriever


class VeilleRetriever(BaseRetriever):
    """Each Document carries the passage's article metadata and exact character span."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    retriever: HybridRetriever
    k: int = 5
    filters: Filters = Filters()
    mode: str | None = None

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, **kwargs: Any
    ) -> list[Document]:
        passages = self.retriever.retrieve(query, k=self.k, filters=self.filters, mode=self.mode)
        return [
            Document(
                id=p.chunk_id,
                page_content=p.text,
                metadata={
                    "chunk_id": p.chunk_id,
                    "article_id": p.article_id,
                    "title": p.title,
                    "source": p.source,
                    "url": p.url,
                    "date": p.date,
                    "lang": p.lang,
                    "start": p.start,
                    "end": p.end,
                    "score": p.score,
                },
            )
            for p in passages
        ]
