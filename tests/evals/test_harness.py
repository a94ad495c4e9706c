"""The harness can fail: broken pipelines fail the eval with the right metric named.

The pipeline here is scripted (control flow of the harness); the store, the
embedder and the retriever are real. The real model runs in evals/test_seeds.py.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pytest

from evals.evaluate import evaluate
from evals.gold import GoldSet, QAItem, load_gold
from evals.report import aggregate, check, diff
from evals.runner import ItemResult, Runner, item_filters
from index.store import Filters, Store
from rag.answers.answer import Answer, Citation, Turn
from rag.retrieval import HybridRetriever, Passage
from rag.service import Veille
from tests.conftest import SampleStore

GOLD = Path(__file__).resolve().parents[2] / "evals" / "gold" / "seeds.yaml"
RULES = {
    "fact_recall": ">= 0.9",
    "citation_validity": ">= 1.0",
    "citation_support": ">= 1.0",
    "retrieval_recall_at_k": ">= 0.9",
    "refusal_accuracy": ">= 1.0",
}


class OracleAnswerer:
    """Answers with the first form of each gold fact, cited to the article sentence that holds it."""

    def __init__(self, store: Store, gold: GoldSet, shift: int = 0) -> None:
        self.store, self.shift = store, shift
        # Keyed like the runner asks: the same question under other filters is another item.
        self.items = {(i.question, item_filters(i)): i for i in gold.items}

    def answer(
        self, question: str, history: Sequence[Turn] = (), filters: Filters | None = None, k: int | None = None
    ) -> Answer:
        item = self.items[(question, filters or Filters())]
        if not item.answerable:
            return Answer(question, "Les sources ne le disent pas.", [], True, item.lang)
        parts, cites = [], []
        for fact in item.gold_facts:
            for a in self.store.articles(filters or Filters()):
                at = a.text.find(fact.text)
                if at >= 0:
                    n = len(cites) + 1
                    cites.append(
                        Citation(n, a.id, "", a.title, a.source, a.date, a.url, fact.text, at, at + len(fact.text))
                    )
                    parts.append(f"{fact.text} [{n + self.shift}].")
                    break
        return Answer(question, " ".join(parts), cites, False, item.lang, retrieved=self.retrieve(question, filters))

    def retrieve(self, question: str, filters: Filters | None) -> list[Passage]:
        return HybridRetriever(self.store).retrieve(question, filters=filters)


class RandomRetrievalOracle(OracleAnswerer):
    """The oracle's answers, but what it retrieved is one passage drawn at random."""

    def __init__(self, store: Store, gold: GoldSet) -> None:
        super().__init__(store, gold)
        self.rng = random.Random(0)
        self.pool = HybridRetriever(store).retrieve("le la les de", k=50)

    def retrieve(self, question: str, filters: Filters | None) -> list[Passage]:
        return [self.rng.choice(self.pool)]


@pytest.fixture(scope="module")
def gold() -> GoldSet:
    g = load_gold(str(GOLD))
    # Items the oracle can answer verbatim, plus the unanswerable ones, without the digest.
    keep = [
        i for i in g.items if not i.history and (not i.answerable or all(f.text in _SEED_TEXT for f in i.gold_facts))
    ]
    return g.model_copy(update={"items": keep, "digests": []})


_SEED_TEXT = "".join(p.read_text(encoding="utf-8") for p in (GOLD.parents[2] / "examples" / "articles").iterdir())


def _failed(sample: SampleStore, gold: GoldSet, **parts: object) -> dict[str, list[str]]:
    runner = Runner(Veille(store=sample.store), **parts)  # type: ignore[arg-type]
    items = runner.run(gold)
    return {f.metric: f.items for f in check(aggregate(items), RULES, items)}


def test_the_oracle_pipeline_passes(sample_store: SampleStore, gold: GoldSet) -> None:
    assert len(gold.items) >= 15
    assert _failed(sample_store, gold, answerer=OracleAnswerer(sample_store.store, gold)) == {}


def test_citations_shifted_by_one_fail_citation_validity(sample_store: SampleStore, gold: GoldSet) -> None:
    failed = _failed(sample_store, gold, answerer=OracleAnswerer(sample_store.store, gold, shift=1))
    assert "citation_validity" in failed
    assert "who-russian-delegation" in failed["citation_validity"]
    assert "fact_recall" not in failed


def test_quotes_that_do_not_hold_the_fact_fail_citation_support(sample_store: SampleStore, gold: GoldSet) -> None:
    class WrongQuote(OracleAnswerer):
        def answer(self, *args: object, **kwargs: object) -> Answer:
            ans = super().answer(*args, **kwargs)  # type: ignore[arg-type]
            wrong = [replace(c, quote="Miami", start=0, end=0) for c in ans.citations]
            return replace(ans, citations=wrong)

    failed = _failed(sample_store, gold, answerer=WrongQuote(sample_store.store, gold))
    assert "citation_support" in failed and "citation_validity" in failed  # the span is not the article's text


def test_random_retrieval_fails_retrieval_recall(sample_store: SampleStore, gold: GoldSet) -> None:
    # Retrieval is measured on what the answer retrieved, not on a second retrieval by the runner.
    failed = _failed(sample_store, gold, answerer=RandomRetrievalOracle(sample_store.store, gold))
    assert set(failed) == {"retrieval_recall_at_k"}


def test_answering_everything_fails_refusal_accuracy(sample_store: SampleStore, gold: GoldSet) -> None:
    class NeverRefuses(OracleAnswerer):
        def answer(
            self, question: str, history: Sequence[Turn] = (), filters: Filters | None = None, k: int | None = None
        ) -> Answer:
            if not self.items[(question, filters or Filters())].answerable:
                return Answer(question, "Le prix est de 80 dollars [1].", [], False, "fr")
            return super().answer(question, history, filters, k)

    failed = _failed(sample_store, gold, answerer=NeverRefuses(sample_store.store, gold))
    assert "unanswerable-oil-price" in failed["refusal_accuracy"]


def test_a_baseline_diff_names_the_items_that_regressed() -> None:
    good = ItemResult("a", "qa", "q", True, verdicts={"fact_recall": 1.0})
    bad = ItemResult("a", "qa", "q", True, verdicts={"fact_recall": 0.0})
    base = {"name": "x", "metrics": aggregate([good]), "items": [{"id": "a", "passed": True}]}
    d = diff(aggregate([bad]), [bad], base)
    assert d["regressed"] == ["a"] and d["deltas"]["fact_recall"] == -1.0


def test_a_gold_file_with_a_typo_is_an_error_naming_it(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(json.dumps({"name": "x", "items": [{"id": "q1", "question": "Qui ?", "gold_fact": []}]}))
    with pytest.raises(ValueError, match=r"(?s)bad.yaml.*gold_fact"):
        load_gold(str(bad))
    with pytest.raises(ValueError, match="needs gold_facts"):
        QAItem(id="q", question="Qui ?")


def test_unknown_metric_in_thresholds_is_refused(sample_store: SampleStore, tmp_path: Path) -> None:
    rules = tmp_path / "t.yaml"
    rules.write_text("fact_recal: '>= 0.5'\n")
    gold_file = tmp_path / "g.yaml"
    gold_file.write_text("name: empty\nitems: []\n")
    with pytest.raises(ValueError, match="unknown metric 'fact_recal'"):
        evaluate([str(gold_file)], sample_store.settings, thresholds=rules)
