"""What a digest is made of: stories, bullets, the spans they cite, disagreements."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from index.catalog import ArticleRecord


@dataclass(frozen=True)
class ArticleRef:
    id: str
    title: str
    source: str
    date: str
    url: str

    @classmethod
    def of(cls, a: ArticleRecord) -> ArticleRef:
        return cls(a.id, a.title, a.source, a.date, a.url)


@dataclass(frozen=True)
class SpanRef:
    """A quoted span of an article: `quote == article text[start:end]`."""

    article_id: str
    start: int
    end: int
    quote: str


@dataclass
class Bullet:
    text: str
    citations: list[SpanRef]
    # True when the model's wording did not verify and the source sentence itself is shown.
    extractive: bool = False


@dataclass
class Version:
    description: str
    citation: SpanRef


@dataclass
class Disagreement:
    subject: str
    versions: list[Version]


@dataclass
class StoryDigest:
    id: str
    headline: str
    bullets: list[Bullet]
    articles: list[str]  # article ids, oldest first
    sources: list[str]
    disagreements: list[Disagreement] = field(default_factory=list)
    new: bool = True  # not in the previous digest
    score: float = 0.0
    centroid: list[float] = field(default_factory=list, repr=False)


@dataclass
class Digest:
    kind: str  # "digest" (a date window), "brief" (a topic), "summary" (one article)
    subject: str
    lang: str
    since: str | None
    until: str | None
    sources_filter: list[str]
    stories: list[StoryDigest]
    others: list[str]  # article ids in stories ranked below max_stories, not written
    articles: dict[str, ArticleRef]
    n_articles: int
    llm_calls: int
    timings: dict[str, float]
    created_at: str
    previous: str | None = None  # the stored digest novelty was judged against

    @property
    def key(self) -> str:
        return digest_key(self.kind, self.subject, self.sources_filter)

    def covered_articles(self) -> set[str]:
        """Articles cited by at least one bullet."""
        return {c.article_id for s in self.stories for b in s.bullets for c in b.citations}

    def to_dict(self, with_centroids: bool = False) -> dict[str, Any]:
        data = asdict(self)
        if not with_centroids:
            for s in data["stories"]:
                s.pop("centroid", None)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Digest:
        stories = [
            StoryDigest(
                **{
                    **s,
                    "bullets": [
                        Bullet(b["text"], [SpanRef(**c) for c in b["citations"]], b["extractive"]) for b in s["bullets"]
                    ],
                    "disagreements": [
                        Disagreement(
                            d["subject"], [Version(v["description"], SpanRef(**v["citation"])) for v in d["versions"]]
                        )
                        for d in s["disagreements"]
                    ],
                }
            )
            for s in data["stories"]
        ]
        # Rendered JSON carries presentation keys too (citation_numbers): only the fields are read.
        known = {f.name for f in fields(cls)}
        return cls(
            **{
                **{k: v for k, v in data.items() if k in known},
                "stories": stories,
                "articles": {k: ArticleRef(**v) for k, v in data["articles"].items()},
            }
        )


def digest_key(kind: str, subject: str, sources: list[str]) -> str:
    return f"{kind}:{subject}:{','.join(sorted(sources))}"
