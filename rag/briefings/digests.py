"""Briefings: a date window (digest), a topic (brief) or one article (summary).

Map-reduce over stories, so a day of ~90 articles fits a small model's context:
articles are grouped into stories in code (stored vectors, no LLM), ranked,
and only the top stories are written, one bounded LLM call each (a handful of
source sentences chosen in code). Bullets are verified against the sentences
they come from and cited to every article that carries them; where outlets
describe a person differently, both versions are shown with their sources.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime

import numpy as np

from index.catalog import ArticleRecord
from index.store import Filters, Store
from rag.briefings.digest_models import ArticleRef, Digest, Disagreement, SpanRef, StoryDigest, Version, digest_key
from rag.briefings.digest_store import DigestStore
from rag.briefings.disagreements import find_disagreements
from rag.briefings.keysentences import select_units
from rag.briefings.stories import SAME_STORY, Story, group_stories
from rag.briefings.story_writer import StoryWriter
from rag.generation.llm import ChatLLM, get_llm
from rag.retrieval import HybridRetriever, QueryError
from veille.settings import Settings

Progress = Callable[[int, int, str], None]


class DigestError(ValueError):
    """Nothing to summarise, or a request that cannot be served: the message says what to change."""


def _bullets_for(n_articles: int) -> int:
    return 2 if n_articles == 1 else 3


def _story_id(story: Story) -> str:
    return hashlib.sha1(",".join(sorted(a.id for a in story.articles)).encode()).hexdigest()[:12]


def _lang(articles: Sequence[ArticleRecord], lang: str | None) -> str:
    if lang:
        if lang not in ("fr", "en"):
            raise DigestError(f"unknown language {lang!r}: use fr or en")
        return lang
    counts = Counter(a.lang for a in articles if a.lang in ("fr", "en"))
    return counts.most_common(1)[0][0] if counts else "fr"


def _disagreements(story: Story) -> list[Disagreement]:
    return [
        Disagreement(
            d.subject,
            [Version(m.descriptor, SpanRef(m.article.id, m.start, m.end, m.text)) for m in d.versions],
        )
        for d in find_disagreements(story.articles)
    ]


class Digester:
    def __init__(self, store: Store, settings: Settings | None = None, llm: ChatLLM | None = None) -> None:
        self.store = store
        self.settings = settings or store.settings
        self._llm = llm
        self.saved = DigestStore(self.settings.data_dir / "digests.sqlite")

    @property
    def llm(self) -> ChatLLM:
        if self._llm is None:
            self._llm = get_llm(self.settings)
        return self._llm

    # -- the three entry points ----------------------------------------------
    def digest(
        self,
        since: date,
        until: date | None = None,
        sources: Sequence[str] = (),
        lang: str | None = None,
        max_stories: int = 8,
        progress: Progress | None = None,
    ) -> Digest:
        until = until or since
        filters = Filters(since=since, until=until, sources=tuple(sources))
        self.store.validate_filters(filters)
        articles = self.store.articles(filters)
        if not articles:
            raise DigestError(
                f"no article dated {since}"
                + (f" to {until}" if until != since else "")
                + (f" from {', '.join(sources)}" if sources else "")
                + "; ingest articles for that window or choose another date"
            )
        subject = since.isoformat() if until == since else f"{since.isoformat()}..{until.isoformat()}"
        previous = self.saved.previous(since.isoformat(), list(sources))
        digest = self._build("digest", subject, articles, lang, max_stories, progress, previous)
        digest.since, digest.until, digest.sources_filter = since.isoformat(), until.isoformat(), list(sources)
        self.saved.save(digest)
        return digest

    def brief(
        self,
        topic: str,
        since: date | None = None,
        until: date | None = None,
        sources: Sequence[str] = (),
        lang: str | None = None,
        max_stories: int = 5,
        max_articles: int = 30,
        progress: Progress | None = None,
    ) -> Digest:
        filters = Filters(since=since, until=until, sources=tuple(sources))
        try:
            passages = HybridRetriever(self.store, self.settings).retrieve(topic, k=100, filters=filters)
        except QueryError as exc:
            raise DigestError(str(exc)) from exc
        relevant = [
            p
            for p in passages
            if p.lexical_rank is not None or (p.dense_score or -1.0) >= self.settings.min_dense_score
        ]
        ids: list[str] = []
        for p in relevant:
            if p.article_id not in ids:
                ids.append(p.article_id)
        records = [r for r in (self.store.article(i) for i in ids[:max_articles]) if r is not None]
        if not records:
            raise DigestError(f"no article matches {topic!r} in that window; try other words or a wider window")
        digest = self._build("brief", topic, records, lang, max_stories, progress, None)
        digest.since = since.isoformat() if since else None
        digest.until = until.isoformat() if until else None
        digest.sources_filter = list(sources)
        self.saved.save(digest)
        return digest

    def summarize(self, article_id: str, lang: str | None = None) -> Digest:
        record = self.store.article(article_id)
        if record is None:
            raise DigestError(f"no article with id {article_id!r}; `veille search` or GET /v1/articles lists them")
        digest = self._build("summary", article_id, [record], lang, 1, None, None, bullets=3)
        self.saved.save(digest)
        return digest

    def stored(self, kind: str, subject: str, sources: Sequence[str] = ()) -> Digest | None:
        return self.saved.get(digest_key(kind, subject, list(sources)))

    # -- shared machinery ----------------------------------------------------
    def _build(
        self,
        kind: str,
        subject: str,
        articles: Sequence[ArticleRecord],
        lang: str | None,
        max_stories: int,
        progress: Progress | None,
        previous: Digest | None,
        bullets: int | None = None,
    ) -> Digest:
        if max_stories < 1:
            raise DigestError("max_stories must be at least 1")
        t0 = time.perf_counter()
        out_lang = _lang(articles, lang)
        vectors = self.store.article_vectors([a.id for a in articles])
        stories = group_stories(articles, vectors)
        t_group = time.perf_counter() - t0
        until = max(a.date for a in articles)
        ranked = self._rank(stories, until, previous)
        top, rest = ranked[:max_stories], ranked[max_stories:]
        writer = StoryWriter(self.llm)
        written: list[StoryDigest] = []
        llm_calls = 0
        for i, (score, new, story) in enumerate(top):
            if progress:
                progress(i, len(top), story.articles[0].title or story.articles[0].id)
            units = select_units(story.articles, bullets or _bullets_for(len(story.articles)))
            result = writer.write(story.articles, units, out_lang)
            llm_calls += result.llm_calls
            written.append(
                StoryDigest(
                    id=_story_id(story),
                    headline=result.headline,
                    bullets=result.bullets,
                    articles=[a.id for a in story.articles],
                    sources=story.sources,
                    disagreements=_disagreements(story),
                    new=new,
                    score=round(score, 3),
                    centroid=[round(float(x), 5) for x in story.centroid],
                )
            )
        if progress:
            progress(len(top), len(top), "done")
        refs = {a.id: ArticleRef.of(a) for a in articles}
        return Digest(
            kind=kind,
            subject=subject,
            lang=out_lang,
            since=None,
            until=None,
            sources_filter=[],
            stories=written,
            others=[a.id for _, _, s in rest for a in s.articles],
            articles=refs,
            n_articles=len(articles),
            llm_calls=llm_calls,
            timings={"group_s": round(t_group, 3), "total_s": round(time.perf_counter() - t0, 3)},
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            previous=previous.key if previous else None,
        )

    @staticmethod
    def _rank(stories: list[Story], until: str, previous: Digest | None) -> list[tuple[float, bool, Story]]:
        """Bigger, multi-outlet, recent and new stories first."""
        before = [np.asarray(s.centroid, dtype=np.float32) for s in previous.stories if s.centroid] if previous else []
        out = []
        for s in stories:
            new = not any(float(s.centroid @ c) >= SAME_STORY for c in before)
            recent = 1.0 if s.latest == until else 0.0
            score = len(s.articles) + 1.5 * (len(s.sources) - 1) + 0.5 * recent + (1.0 if new else 0.0)
            out.append((score, new, s))
        out.sort(key=lambda t: (-t[0], t[2].articles[0].id))
        return out
