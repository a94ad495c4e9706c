"""Choosing, in code, the few sentences of a story that a briefing should say.

The embedded model reads ~20 prompt tokens/s on a 2-core CPU, so it is never
shown whole articles: a story is reduced to its best source units (a sentence,
with the sentence before it when it opens on a pronoun), picked greedily to
cover the names and numbers most of the story's articles share, and to avoid
saying the same thing twice. Each unit keeps its article offsets, so a bullet
written from it cites an exact span.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from index.catalog import ArticleRecord
from rag.details import GENERIC_CAPITALISED, key_details
from veille.text.french import analyze, fold
from veille.text.injection import is_instruction_like
from veille.text.sentences import sentence_spans

_PRONOUN_START = re.compile(
    r"^\W*(il|elle|ils|elles|cela|ce|ceci|celui|celle|ceux|celles|lui|leur|they|it|he|she|this)\b", re.IGNORECASE
)
_MAX_SENTENCES_PER_ARTICLE = 30
_MIN_WORDS, _MAX_WORDS = 6, 70


@dataclass(frozen=True)
class Unit:
    article: ArticleRecord
    start: int  # offsets into article.text
    end: int
    position: int  # sentence index in the article

    @property
    def text(self) -> str:
        return self.article.text[self.start : self.end]


def article_units(article: ArticleRecord, strict: bool = True) -> list[Unit]:
    """Candidate units of one article: whole sentences, no headings, no instructions. Not strict:
    any sentence of a few words (for articles whose text has no sentence punctuation)."""
    spans = sentence_spans(article.text)[:_MAX_SENTENCES_PER_ARTICLE]
    units = []
    for i, (s, e) in enumerate(spans):
        sentence = article.text[s:e]
        words = len(sentence.split())
        if strict and (words < _MIN_WORDS or words > _MAX_WORDS or not re.search(r"[.!?…»\"]\s*$", sentence)):
            continue  # headings and fragments carry no checkable statement
        if not strict and words < 4:
            continue
        if is_instruction_like(sentence):
            continue
        start = spans[i - 1][0] if i > 0 and _PRONOUN_START.match(sentence) else s
        units.append(Unit(article, start, e, i))
    return units


_CAPITALISED_RUN = re.compile(r"[A-ZÀ-ÖØ-Þ][\w\-]+(?:\s+[A-ZÀ-ÖØ-Þ][\w\-]+)+")


def _people(text: str) -> set[str]:
    """Details that belong to a first-and-last-name run ("Kirill Dmitriev", not "Selon Politico")."""
    out: set[str] = set()
    for m in _CAPITALISED_RUN.finditer(text):
        words = [w for w in m.group().split() if fold(w) not in GENERIC_CAPITALISED]
        if len(words) >= 2:
            out |= key_details(" ".join(words))
    return out


def _weights(units: Sequence[Unit], n_articles: int) -> dict[str, float]:
    """A name or number matters more the more of the story's articles carry it, and people
    (first and last name) most: they are who the story is about."""
    per_article: dict[str, set[str]] = {}
    for u in units:
        for d in key_details(u.text):
            per_article.setdefault(d, set()).add(u.article.id)
    people = {d for u in units for d in _people(u.text)}
    if n_articles == 1:
        mentions = Counter(d for u in units for d in key_details(u.text))
        base = {d: 1.0 + math.log(c) for d, c in mentions.items()}
    else:
        base = {d: float(len(a)) for d, a in per_article.items()}
    return {d: w * (2.0 if d in people else 1.0) for d, w in base.items()}


def select_units(articles: Sequence[ArticleRecord], n: int) -> list[Unit]:
    """Up to n units that together cover the story's shared details, in story order."""
    units = [u for a in articles for u in article_units(a)]
    if not units:
        units = [u for a in articles for u in article_units(a, strict=False)]
    if not units:
        return []
    weights = _weights(units, len(articles))
    term_df = Counter(t for a in articles for t in set(analyze(a.text)))
    chosen: list[Unit] = []
    covered: set[str] = set()
    chosen_terms: list[set[str]] = []
    # Each unit's details and terms, once: the greedy loop scores every unit on every pick.
    details_of = [key_details(u.text) for u in units]
    terms_of = [set(analyze(u.text)) for u in units]
    for _ in range(n):
        best: tuple[float, Unit, set[str], set[str]] | None = None
        for u, details, terms in zip(units, details_of, terms_of, strict=True):
            if u in chosen:
                continue
            if any(len(terms & c) > 0.6 * min(len(terms), len(c)) for c in chosen_terms):
                continue  # says what a chosen unit already says
            gain = sum(weights.get(d, 0.0) for d in details - covered)
            shared = sum(term_df[t] - 1 for t in terms) / max(1.0, math.sqrt(len(terms)))
            lede = 1.0 / (1 + u.position)
            score = gain + 0.3 * shared + lede
            if best is None or score > best[0]:
                best = (score, u, terms, details)
        if best is None:
            break
        chosen.append(best[1])
        chosen_terms.append(best[2])
        covered |= best[3]
    order = {a.id: i for i, a in enumerate(articles)}
    return sorted(chosen, key=lambda u: (order[u.article.id], u.start))
