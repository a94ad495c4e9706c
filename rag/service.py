"""The application service: what the CLI, the API and the evals do, written once.

The shells parse input and render output; every rule between them and the library lives here: how a
store is opened and closed, the ingestion options the settings imply, the one retrieval entry that
search, answers and evals share, a digest's window, and what "ready" means.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from types import TracebackType
from typing import TYPE_CHECKING

from index.ingest import Ingestor
from index.readers import ReadOptions
from index.store import Filters, Store
from rag.answers.answer import Answerer, AnswerEvent, Turn
from rag.generation.llm import LLM_BACKENDS, ChatLLM, describe_llm, get_llm
from rag.retrieval import Passage
from veille.plugins import load_plugins
from veille.settings import Settings, get_settings

if TYPE_CHECKING:
    from rag.briefings.digest_models import Digest
    from rag.briefings.digests import Digester, Progress


@dataclass(frozen=True)
class Readiness:
    ready: bool
    checks: dict[str, str]  # store, embedder, llm: "ok" or "unavailable: why"
    llm: dict[str, str]  # the backend, where it runs, llama.cpp's SIMD paths


def digest_window(day: date | None, since: date | None, until: date | None) -> tuple[date, date]:
    """The days a digest covers: one day, or since..until (until defaults to since)."""
    start = day or since
    if start is None:
        raise ValueError("give a date (YYYY-MM-DD), or since (and until)")
    end = until or start
    if end < start:
        raise ValueError(f"the window ends ({end}) before it starts ({start})")
    return start, end


class Veille:
    """One deployment's store, models and answer engine, opened lazily and closed once."""

    def __init__(
        self, settings: Settings | None = None, llm: ChatLLM | None = None, store: Store | None = None
    ) -> None:
        self.settings = settings or (store.settings if store else get_settings())
        load_plugins(self.settings.plugins)  # before anything is built that a plugin may register
        LLM_BACKENDS.get(self.settings.llm)  # an unknown VEILLE_LLM is said now, with the known ones
        self._llm = llm
        self._owns_store = store is None
        if store is not None:  # opened by the caller, who closes it
            self.__dict__["store"] = store

    def __enter__(self) -> Veille:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Release what was opened, however the command ended: a process that runs commands in turn
        (tests, a notebook) otherwise keeps the data folder locked against every other one."""
        if "digester" in self.__dict__:
            self.__dict__.pop("digester").saved.close()
        self.__dict__.pop("answerer", None)
        store = self.__dict__.pop("store", None)
        if store is not None and self._owns_store:
            store.close()
        # A borrowed store stays open (its owner closes it) but is let go: used again, this service
        # opens and owns a store of its own, which its next close() releases.
        self._owns_store = True

    @cached_property
    def store(self) -> Store:
        return Store(self.settings)

    @property
    def llm(self) -> ChatLLM:
        if self._llm is None:
            self._llm = get_llm(self.settings)
        return self._llm

    @cached_property
    def answerer(self) -> Answerer:
        # The model is resolved on first use, not here: `veille search` never loads it.
        return Answerer(self.store, self.settings, llm=self._llm)

    @cached_property
    def digester(self) -> Digester:
        from rag.briefings.digests import Digester

        return Digester(self.store, self.settings, llm=self._llm)

    # -- ingestion ---------------------------------------------------------------------------------

    def read_options(self, encoding: str = "utf-8", source: str = "", day: str = "", lang: str = "") -> ReadOptions:
        """How inputs are read: the settings' limits, and defaults for what an article does not name."""
        s = self.settings
        return ReadOptions(
            max_file_bytes=int(s.max_file_mb * 1024 * 1024),
            max_article_chars=s.max_article_chars,
            min_article_chars=s.min_article_chars,
            encoding=encoding,
            default_source=source,
            default_date=day,
            default_lang=lang,
        )

    def ingestor(self) -> Ingestor:
        return Ingestor(self.store)

    # -- questions ---------------------------------------------------------------------------------

    def search(
        self,
        query: str,
        k: int | None = None,
        filters: Filters | None = None,
        mode: str | None = None,
        recency_half_life_days: float | None = None,
    ) -> list[Passage]:
        """Ranked passages: the retriever that answers read, so search shows what an answer would see."""
        return self.answerer.retriever.retrieve(
            query, k=k, filters=filters, mode=mode, recency_half_life_days=recency_half_life_days
        )

    def ask(self, question: str, history: Sequence[Turn] = (), filters: Filters | None = None) -> Iterator[AnswerEvent]:
        return self.answerer.stream(question, history, filters)

    # -- briefings ---------------------------------------------------------------------------------

    def digest(
        self,
        day: date | None = None,
        since: date | None = None,
        until: date | None = None,
        sources: Sequence[str] = (),
        lang: str | None = None,
        max_stories: int = 8,
        progress: Progress | None = None,
    ) -> Digest:
        start, end = digest_window(day, since, until)
        return self.digester.digest(start, end, list(sources), lang, max_stories, progress)

    # -- operations --------------------------------------------------------------------------------

    def warm_up(self) -> None:
        """Load the answer engine's model now rather than on the first question (see Answerer.warm_up)."""
        self.answerer.warm_up()

    def llm_status(self) -> str:
        """ok, or why not (the embedded model's weights, the server's /models answering)."""
        if self.settings.llm == "embedded" and self._llm is not None:
            return "ok"  # loaded already (a server's, by contrast, may have gone away since)
        return LLM_BACKENDS.get(self.settings.llm).status(self.settings)

    def readiness(self) -> Readiness:
        """Store, embedder and LLM each checked for real (a query embedded, the vectors counted)."""
        checks: dict[str, str] = {}
        try:
            self.store.catalog.counts()
            self.store.vectors.count()
            checks["store"] = "ok"
        except Exception as exc:  # whatever the backend raises, readiness reports it rather than failing
            checks["store"] = f"unavailable: {exc}"
        try:
            self.store.embedder.embed_query("test")
            checks["embedder"] = "ok"
        except Exception as exc:
            checks["embedder"] = f"unavailable: {exc}"
        checks["llm"] = self.llm_status()
        return Readiness(all(v == "ok" for v in checks.values()), checks, describe_llm(self.settings))

    def stats(self) -> dict[str, object]:
        """What the index holds and which model answers."""
        info = self.store.stats()
        info["llm"] = describe_llm(self.settings)
        return info
