"""The digest pipeline over the real store (real embedder, real Chroma), with a scripted chat model:
grouping, ranking, novelty, storage and errors. The real model's digest is in test_digests_e2e.py."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date
from pathlib import Path

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from index.ingest import Ingestor
from index.readers import ReadOptions, build_article
from index.store import Store
from rag.briefings.digests import Digester, DigestError
from rag.generation.llm import ChatLLM
from tests.conftest import SampleStore
from tests.helpers import sample_articles

VINE = (
    "Les vendanges ont commencé avec deux semaines d'avance en Bourgogne. "
    "Les vignerons de la Côte de Beaune craignent une récolte réduite après la canicule d'août."
)
SEED_DAY = date(2025, 12, 18)
POINTS = json.dumps({"titre": "Pourparlers à Miami", "points": ["a", "b", "c"]})


def _digester(sample: SampleStore, tmp_path: Path, outputs: int = 4) -> Digester:
    llm = ChatLLM(FakeListChatModel(responses=[POINTS] * outputs), backend="openai", json_mode="none", serialise=False)
    return Digester(sample.store, sample.settings.model_copy(update={"data_dir": tmp_path}), llm=llm)


def test_the_two_seed_outlets_are_one_story_with_both_cited(sample_store: SampleStore, tmp_path: Path) -> None:
    seen: list[tuple[int, int]] = []
    d = _digester(sample_store, tmp_path).digest(SEED_DAY, progress=lambda done, total, _: seen.append((done, total)))
    assert d.n_articles == 2 and len(d.stories) == 1 and d.llm_calls == 1
    story = d.stories[0]
    assert story.sources == ["exemple-relais-axios", "exemple-relais-politico"]
    assert set(story.articles) == set(d.covered_articles()) == set(d.articles)
    assert seen[-1] == (1, 1)
    names = {dis.subject for dis in story.disagreements}
    assert {"Jared Kushner", "Rustem Umerov"} <= names


def test_a_later_digest_knows_what_it_already_said(new_store: Store, tmp_path: Path) -> None:
    """Day 2 repeats day 1's story (follow-up articles) and adds another: only the other is new."""
    articles = [
        build_article(
            {**{k: v for k, v in asdict(a).items() if k not in ("id", "origin")}, "date": day, "text": a.text + suffix},
            "test",
            ReadOptions(),
        )
        for a in sample_articles()
        for day, suffix in (("2025-12-18", ""), ("2025-12-19", " Les discussions se poursuivent."))
    ]
    other = {"title": "Vendanges", "date": "2025-12-19", "source": "journal-du-vin", "text": VINE}
    Ingestor(new_store).ingest([*articles, build_article(other, "test", ReadOptions())])
    llm = ChatLLM(FakeListChatModel(responses=[POINTS] * 4), backend="openai", json_mode="none", serialise=False)
    digester = Digester(new_store, llm=llm)
    first = digester.digest(SEED_DAY)
    assert first.stories[0].new and first.previous is None
    second = digester.digest(date(2025, 12, 19))
    assert second.previous == first.key
    news = {s.sources[0] if len(s.sources) == 1 else "seed": s.new for s in second.stories}
    assert news == {"seed": False, "journal-du-vin": True}
    assert [s.new for s in second.stories] == [False, True]  # two outlets outrank one article, new or not
    assert digester.stored("digest", "2025-12-18") == first


def test_max_stories_lists_the_rest_instead_of_writing_them(sample_store: SampleStore, tmp_path: Path) -> None:
    d = _digester(sample_store, tmp_path).brief("Miami", max_stories=1)
    assert d.kind == "brief" and len(d.stories) == 1 and d.llm_calls == 1


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda g: g.digest(date(1999, 1, 1)), "no article dated 1999-01-01"),
        (lambda g: g.digest(SEED_DAY, sources=["le-monde"]), "unknown source"),
        (lambda g: g.digest(SEED_DAY, lang="de"), "unknown language"),
        (lambda g: g.digest(SEED_DAY, max_stories=0), "max_stories"),
        (lambda g: g.summarize("nope"), "no article with id 'nope'"),
        (lambda g: g.brief("   "), "empty"),
    ],
)
def test_requests_that_cannot_be_served_say_what_to_change(
    sample_store: SampleStore, tmp_path: Path, call: object, message: str
) -> None:
    with pytest.raises((DigestError, ValueError), match=message):
        call(_digester(sample_store, tmp_path))  # type: ignore[operator]
