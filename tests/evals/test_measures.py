"""Eval metrics are registered objects: a new one is measured, aggregated, gated and named in one line."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from evals.gold import Fact, QAItem
from evals.measures import METRICS, Metric, QACase
from evals.report import aggregate, check
from evals.runner import ItemResult
from rag.answers.answer import Answer


def _result(item: QAItem, text: str, refused: bool = False) -> ItemResult:
    res = ItemResult(item.id, "qa", item.question, item.answerable, answer=text, refused=refused)
    res.record("qa", QACase(item, Answer(item.question, text, [], refused, "fr"), {}, lambda: []))
    return res


ITEM = QAItem(id="q1", question="Qui dirige la délégation ?", gold_facts=[Fact(text="Kirill Dmitriev")])
UNANSWERABLE = QAItem(id="q2", question="Quel est le prix du pétrole ?", answerable=False)


@pytest.fixture
def short_answers() -> Iterator[str]:
    METRICS.register("short_answers")(Metric("short", "qa", lambda c: len(c.answer.text.split()) <= 5))
    yield "short_answers"
    METRICS.unregister("short_answers")


def test_a_registered_metric_is_aggregated_gated_and_names_its_failures(short_answers: str) -> None:
    items = [
        _result(ITEM, "Kirill Dmitriev [1]."),
        _result(ITEM.model_copy(update={"id": "q3"}), "La délégation russe sera dirigée par Kirill Dmitriev [1]."),
    ]
    metrics = aggregate(items)
    assert metrics[short_answers] == 0.5
    (failure,) = check(metrics, {short_answers: ">= 0.9"}, items)
    assert failure.items == ["q3"]
    assert metrics["fact_recall"] == 1.0


def test_the_builtin_metrics_measure_what_they_say() -> None:
    items = [
        _result(ITEM, "Les sources ne le disent pas.", refused=True),
        _result(UNANSWERABLE, "Les sources ne le disent pas.", refused=True),
    ]
    metrics = aggregate(items)
    assert metrics["false_refusal_rate"] == 1.0 and metrics["refusal_accuracy"] == 1.0
    assert metrics["fact_recall"] == 0.0
    assert metrics["citation_validity"] is None  # nothing was answered, so nothing was cited
    assert "citation_valid" not in items[0].verdicts


def test_an_unknown_metric_in_thresholds_is_named() -> None:
    with pytest.raises(ValueError, match="unknown metric 'recall'"):
        check(aggregate([_result(ITEM, "Kirill Dmitriev [1].")]), {"recall": ">= 0.5"}, [])
