"""Grouping articles that report the same story, across outlets.

Average-linkage clustering over the articles' stored vectors (no re-embedding):
two groups merge while their mean cosine similarity is above a threshold. News
articles on the same beat are close in embedding space even when they report
different events, so a pair that shares no proper name in its opening lines
must be closer still to count as the same story.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from index.catalog import ArticleRecord
from veille.text.french import fold

# Calibrated on the seed pair (two outlets, one story: 0.93) and busy days of the
# shared news corpus (distinct events on the same beat: 0.88–0.91); see benchmarks/digests.py.
SAME_STORY = 0.915
# Extra closeness asked of a pair whose openings share no name.
NO_SHARED_NAME_PENALTY = 0.03

_NAME = re.compile(r"\b[A-ZÀ-ÖØ-Þ][\w\-]{2,}")
_OPENING_CHARS = 700
_NOT_NAMES = frozenset(
    fold(w)
    for w in """Les Des Une Elle Ils Elles Cette Ces Selon Pour Dans Sur Par Avec Lors Après Avant Mais
    Depuis Alors Aussi Ainsi Comme Quand Lundi Mardi Mercredi Jeudi Vendredi Samedi Dimanche The This""".split()
)


@dataclass
class Story:
    articles: list[ArticleRecord]
    centroid: np.ndarray

    @property
    def sources(self) -> list[str]:
        return sorted({a.source for a in self.articles if a.source})

    @property
    def latest(self) -> str:
        return max(a.date for a in self.articles)


def opening_names(article: ArticleRecord) -> set[str]:
    text = f"{article.title}. {article.text[:_OPENING_CHARS]}"
    return {fold(m.group()) for m in _NAME.finditer(text)} - _NOT_NAMES


def similarity_matrix(articles: Sequence[ArticleRecord], vectors: dict[str, np.ndarray]) -> np.ndarray:
    mat = np.stack([vectors[a.id] for a in articles])
    sim = mat @ mat.T
    names = [opening_names(a) for a in articles]
    for i in range(len(articles)):
        for j in range(i + 1, len(articles)):
            if not names[i] & names[j]:
                sim[i, j] -= NO_SHARED_NAME_PENALTY
                sim[j, i] -= NO_SHARED_NAME_PENALTY
    return np.asarray(sim)


def linkage(a: Sequence[ArticleRecord], b: Sequence[ArticleRecord], vectors: dict[str, np.ndarray]) -> float:
    """The similarity grouping merges on: the mean pairwise similarity between two groups' articles."""
    both = [*a, *b]
    sim = similarity_matrix(both, vectors)
    return float(sim[: len(a), len(a) :].mean())


def group_stories(
    articles: Sequence[ArticleRecord], vectors: dict[str, np.ndarray], threshold: float = SAME_STORY
) -> list[Story]:
    """Stories, biggest first; an article without a stored vector stands alone."""
    with_vec = [a for a in articles if a.id in vectors]
    alone = [a for a in articles if a.id not in vectors]
    groups: list[list[int]] = [[i] for i in range(len(with_vec))]
    if len(with_vec) > 1:
        sim = similarity_matrix(with_vec, vectors)
        while True:
            best, pair = threshold, None
            for x in range(len(groups)):
                for y in range(x + 1, len(groups)):
                    mean = float(sim[np.ix_(groups[x], groups[y])].mean())
                    if mean >= best:
                        best, pair = mean, (x, y)
            if pair is None:
                break
            x, y = pair
            groups[x] = groups[x] + groups[y]
            del groups[y]
    stories = []
    for g in groups:
        members = [with_vec[i] for i in g]
        centroid = np.mean([vectors[a.id] for a in members], axis=0)
        centroid /= max(float(np.linalg.norm(centroid)), 1e-9)
        stories.append(Story(sorted(members, key=lambda a: (a.date, a.id)), centroid))
    dim = next(iter(vectors.values())).shape[0] if vectors else 1
    stories += [Story([a], np.zeros(dim, dtype=np.float32)) for a in alone]
    stories.sort(key=lambda s: (-len(s.articles), -len(s.sources)))
    return stories
