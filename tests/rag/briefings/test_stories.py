from __future__ import annotations

import numpy as np

from rag.briefings.stories import NO_SHARED_NAME_PENALTY, SAME_STORY, group_stories
from tests.helpers import record


def _unit(v: list[float]) -> np.ndarray:
    a = np.asarray(v, dtype=np.float32)
    return a / np.linalg.norm(a)


def _pair_at(cos: float) -> tuple[np.ndarray, np.ndarray]:
    return _unit([1.0, 0.0]), _unit([cos, float(np.sqrt(1 - cos * cos))])


def test_close_articles_sharing_a_name_are_one_story_across_outlets() -> None:
    va, vb = _pair_at(SAME_STORY + 0.01)
    a = record("a", "Emmanuel Macron est arrivé à Berlin.", "outlet-1")
    b = record("b", "À Berlin, Emmanuel Macron a rencontré le chancelier.", "outlet-2")
    far = record("c", "La récolte de blé sera faible cette année en Beauce.", "outlet-1")
    stories = group_stories([a, b, far], {"a": va, "b": vb, "c": _unit([0.0, -1.0])})
    assert [sorted(x.id for x in s.articles) for s in stories] == [["a", "b"], ["c"]]
    assert stories[0].sources == ["outlet-1", "outlet-2"]


def test_without_a_shared_name_the_pair_must_be_closer() -> None:
    va, vb = _pair_at(SAME_STORY + NO_SHARED_NAME_PENALTY / 2)
    a = record("a", "Les prix du gaz montent encore.", "x")
    b = record("b", "Hausse des factures de chauffage pour les ménages.", "y")
    assert len(group_stories([a, b], {"a": va, "b": vb})) == 2


def test_an_article_without_a_vector_stands_alone() -> None:
    a = record("a", "Texte.", "x")
    stories = group_stories([a, record("b", "Autre.", "y")], {"a": _unit([1.0, 0.0])})
    assert sorted(len(s.articles) for s in stories) == [1, 1]
