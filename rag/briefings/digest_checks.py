"""Checks a finished digest must pass, used by tests and benchmarks alike.

They take the digest and the articles it was written from, and return what is
wrong, so a failure names the bullet and the reason.
"""

from __future__ import annotations

from collections.abc import Mapping

from index.catalog import ArticleRecord
from rag.briefings.digest_models import Digest
from rag.briefings.story_writer import supported_by
from veille.text.french import analyze


def citation_problems(digest: Digest, articles: Mapping[str, ArticleRecord]) -> list[str]:
    """Every bullet cites at least one span; every span is the article's exact text and supports
    the bullet (or is the bullet, for a quoted source sentence)."""
    problems = []
    for s in digest.stories:
        for b in s.bullets:
            if not b.citations:
                problems.append(f"{s.headline!r}: bullet without citation: {b.text!r}")
            for c in b.citations:
                a = articles.get(c.article_id)
                if a is None or c.article_id not in s.articles:
                    problems.append(f"{s.headline!r}: cites {c.article_id}, not an article of the story")
                elif a.text[c.start : c.end] != c.quote:
                    problems.append(f"{s.headline!r}: quote is not the article's text at {c.start}:{c.end}")
                elif not (b.extractive and " ".join(c.quote.split()) == b.text) and not supported_by(b.text, c.quote):
                    problems.append(f"{s.headline!r}: {b.text!r} is not supported by {c.quote!r}")
        for d in s.disagreements:
            for v in d.versions:
                a = articles.get(v.citation.article_id)
                if a is None or a.text[v.citation.start : v.citation.end] != v.citation.quote:
                    problems.append(f"{s.headline!r}: disagreement on {d.subject} quotes text that is not there")
    return problems


def lede_recall(digest: Digest, ledes: Mapping[str, str]) -> float | None:
    """How much of what the articles' own ledes say the bullets say: per written story, the share of
    the lead article's lede content words (French analyzer: stems, no stop words) that appear in the
    story's bullets, averaged over stories. Ledes are written by the newsroom, so this is a recall
    of editorial essentials, independent of our sentence choice."""
    scores = []
    for s in digest.stories:
        # The lead article: the one the first bullet was written from.
        lead = s.bullets[0].citations[0].article_id if s.bullets and s.bullets[0].citations else s.articles[0]
        if not ledes.get(lead):
            continue
        lede_terms = set(analyze(ledes[lead]))
        if not lede_terms:
            continue
        said = set(analyze(" ".join(b.text for b in s.bullets) + " " + s.headline))
        scores.append(len(lede_terms & said) / len(lede_terms))
    return sum(scores) / len(scores) if scores else None
