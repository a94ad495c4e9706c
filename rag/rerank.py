"""The reranker slot: every ranked list (search, answers, briefs, evals) passes through it.

None ships: no cross-encoder's weights can be had offline here (see the offline-models notes), and
a reranker that has not been measured on PIAF is not one to turn on by default. A deployment adds
one with a module that registers a factory and sets VEILLE_RERANKER to its name:

    @RERANKERS.register("mine")
    def _mine(settings: Settings) -> Reranker:
        return MyReranker(...)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol

from veille.registry import Registry
from veille.settings import Settings

if TYPE_CHECKING:
    from rag.retrieval import Passage


class Reranker(Protocol):
    def rerank(self, query: str, passages: Sequence[Passage]) -> list[Passage]:
        """The same passages, best first (it may drop some, never add any)."""
        ...


RERANKERS: Registry[Callable[[Settings], Reranker]] = Registry("reranker", "VEILLE_RERANKER")


def load_reranker(settings: Settings) -> Reranker | None:
    """The configured reranker, or None; an unknown name fails here, when a retriever is made."""
    return RERANKERS.get(settings.reranker)(settings) if settings.reranker else None
