"""Run gold sets through rag/ like a user would, and judge every item.

The runner ingests the gold set's corpus into a fresh store (or uses the
configured one), asks every question through the application service (`rag.service.Veille`), writes the
digests through `rag.briefings.digests.Digester`, and scores each item with every
metric registered in evals/measures.py. Aggregates, thresholds and baseline
diffs are in evals/report.py.
"""

from __future__ import annotations

import gzip
import json
import re
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from evals import metrics as m
from evals.gold import DigestItem, GoldSet, QAItem
from evals.measures import METRICS, DigestCase, QACase, verdict_ok
from index.models import Article
from index.readers import build_article, read_inputs
from index.store import Filters, Store
from rag.answers.answer import Answer, Turn
from rag.briefings.digest_checks import citation_problems
from rag.briefings.digest_render import to_markdown
from rag.briefings.stories import SAME_STORY
from rag.service import Veille
from veille.settings import Settings

Progress = Callable[[str], None]


class AnswersQuestions(Protocol):
    def answer(
        self, question: str, history: Sequence[Turn] = (), filters: Filters | None = None, k: int | None = None
    ) -> Answer: ...


@dataclass
class ItemResult:
    id: str
    kind: str  # "qa" or "digest"
    question: str
    answerable: bool
    answer: str = ""
    refused: bool = False
    citations: list[dict[str, Any]] = field(default_factory=list)
    facts_found: list[bool] = field(default_factory=list)
    verdicts: dict[str, float | bool | None] = field(default_factory=dict)
    latency_s: float | None = None
    ttft_s: float | None = None
    prompt_tokens: int | None = None
    error: str | None = None

    @property
    def passed(self) -> bool:
        return self.error is None and all(verdict_ok(k, v) for k, v in self.verdicts.items())

    def record(self, kind: str, case: QACase | DigestCase) -> None:
        """Every registered metric of this kind of item, measured on the case (not applicable: left out)."""
        for metric in METRICS.values():
            if metric.kind == kind and (value := metric.measure(case)) is not None:
                self.verdicts[metric.verdict] = value


def _keys(article_id: str, store: Store) -> set[str]:
    rec = store.article(article_id)
    return {article_id} | ({rec.source, rec.title} if rec else set())


def item_filters(item: QAItem) -> Filters:
    f = item.filters
    return Filters(since=f.since, until=f.until, sources=tuple(f.sources))


def ingest_corpus(gold: GoldSet, app: Veille) -> int:
    """Ingest the gold set's corpus: files and folders, or `piaf:PATH` paragraphs read in place."""
    articles: list[Article] = []
    opts = app.read_options()
    for entry in gold.corpus:
        if entry.startswith("piaf:"):
            with gzip.open(entry[5:], "rt", encoding="utf-8") as fh:
                for line in fh:
                    p = json.loads(line)
                    articles.append(
                        build_article({"id": p["id"], "title": p["title"], "text": p["text"]}, p["id"], opts)
                    )
        else:
            for a in read_inputs([(gold.base_dir / entry).resolve()], opts):
                if isinstance(a, Article):
                    articles.append(a)
                else:
                    raise ValueError(f"corpus file rejected: {a.origin}: {a.reason}")
    report = app.ingestor().ingest(articles)
    return len(report.added) + len(report.unchanged) + len(report.replaced)


class Runner:
    """Drives the application as a user would; a test may swap the answerer."""

    def __init__(
        self,
        app: Veille,
        answerer: AnswersQuestions | None = None,
        judge: Callable[[QAItem, Answer], bool | None] | None = None,
    ) -> None:
        self.app = app
        self.store = app.store
        self.answerer: AnswersQuestions = answerer or app.answerer
        self.judge = judge

    def run(self, gold: GoldSet, progress: Progress | None = None) -> list[ItemResult]:
        out = []
        for item in gold.items:
            if progress:
                progress(item.id)
            out.append(self.run_item(item))
        for d in gold.digests:
            if progress:
                progress(d.id)
            out.append(self.run_digest(d))
        return out

    def run_item(self, item: QAItem) -> ItemResult:
        res = ItemResult(item.id, "qa", item.question, item.answerable)
        history = [Turn(t.role, t.content) for t in item.history]
        filters = item_filters(item)
        t = time.perf_counter()
        try:
            ans = self.answerer.answer(item.question, history, filters)
        except Exception as exc:  # an item that crashes is a failed item, not a crashed eval
            res.error = f"{type(exc).__name__}: {exc}"
            return res
        res.latency_s = time.perf_counter() - t
        res.ttft_s = ans.timings.get("llm_first_token_s")
        res.prompt_tokens = ans.prompt_tokens
        res.answer, res.refused = ans.text, ans.refused
        res.citations = [
            {"n": c.n, "article_id": c.article_id, "source": c.source, "quote": c.quote, "start": c.start, "end": c.end}
            for c in ans.citations
        ]
        cited = {}
        for c in ans.citations:
            rec = self.store.article(c.article_id)
            cited[c.n] = (c.quote, rec.text[c.start : c.end] if rec else "")

        def ranked_keys() -> list[set[str]]:
            # What the answer itself retrieved, not a second retrieval that could differ from it.
            seen = list(dict.fromkeys(p.article_id for p in ans.retrieved))
            return [_keys(a, self.store) for a in seen]

        case = QACase(item, ans, cited, ranked_keys, self.judge)
        res.record("qa", case)
        if item.answerable:
            res.facts_found = case.facts_found
        return res

    def run_digest(self, item: DigestItem) -> ItemResult:
        window = f"{item.since}" + (f"..{item.until}" if item.until and item.until != item.since else "")
        res = ItemResult(item.id, "digest", f"digest {window}", True)
        t = time.perf_counter()
        try:
            d = self.app.digest(since=item.since, until=item.until, sources=item.sources, max_stories=item.max_stories)
        except Exception as exc:
            res.error = f"{type(exc).__name__}: {exc}"
            return res
        res.latency_s = time.perf_counter() - t
        text = to_markdown(d)
        res.answer = text
        articles = {a: rec for a in d.articles if (rec := self.store.article(a)) is not None}
        problems = citation_problems(d, articles)
        res.facts_found = [m.fact_in(f.forms, text) for f in item.facts]
        cents = [s.centroid for s in d.stories if s.centroid]
        dupes = sum(
            1
            for i in range(len(cents))
            for j in range(i + 1, len(cents))
            if sum(a * b for a, b in zip(cents[i], cents[j], strict=True)) >= SAME_STORY
        )
        res.record("digest", DigestCase(item, d, text, problems, dupes, res.facts_found))
        res.citations = [{"problem": p} for p in problems]
        return res


def temporary_service(settings: Settings, gold: GoldSet) -> tuple[Veille, tempfile.TemporaryDirectory[str]]:
    """The application over a fresh store in a temporary folder, holding the gold set's corpus."""
    tmp = tempfile.TemporaryDirectory(prefix=f"veille-eval-{re.sub(r'[^a-z0-9]+', '-', gold.name.lower())}-")
    app = Veille(settings.model_copy(update={"data_dir": Path(tmp.name), "chroma_url": ""}))
    ingest_corpus(gold, app)
    return app, tmp
