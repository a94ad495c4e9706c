"""Eval metrics as registered objects: what each measures on one item, and how items add up.

A metric is one `Metric`: its name (what reports and thresholds files say), the per-item verdict it
measures, how the verdicts aggregate, and whether any value above zero passes an item. Adding one is
a function and its registration line:

    METRICS.register("answer_words_max_30")(Metric("short_answer", "qa", lambda c: len(c.answer.text.split()) <= 30))
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from evals import metrics as m
from evals.gold import DigestItem, QAItem
from rag.answers.answer import Answer
from rag.briefings.digest_models import Digest
from veille.registry import Registry

Value = float | bool | None


@dataclass
class QACase:
    """One answered question, with what its metrics read."""

    item: QAItem
    answer: Answer
    cited: dict[int, tuple[str, str]]  # [n] -> (the quote, the article's text at its offsets)
    ranked_keys: Callable[[], list[set[str]]]  # the retrieved articles' keys, best first (run on demand)
    judge: Callable[[QAItem, Answer], bool | None] | None = None

    @cached_property
    def facts_found(self) -> list[bool]:
        return [m.fact_in(f.forms, self.answer.text) for f in self.item.gold_facts]

    @cached_property
    def reciprocal_rank(self) -> float | None:
        if not (self.item.answerable and self.item.gold_articles):
            return None
        return m.reciprocal_rank(self.ranked_keys(), set(self.item.gold_articles))


@dataclass
class DigestCase:
    item: DigestItem
    digest: Digest
    text: str  # the digest as a reader gets it (Markdown)
    problems: list[str]  # bullets whose citations do not hold
    duplicates: int  # pairs of stories that are one story
    facts_found: list[bool] = field(default_factory=list)

    @property
    def bullets(self) -> int:
        return sum(len(s.bullets) for s in self.digest.stories)

    @property
    def days(self) -> int:
        return max(1, ((self.item.until or self.item.since) - self.item.since).days + 1)


@dataclass(frozen=True)
class Metric:
    verdict: str  # the per-item verdict's key (an item fails the metric when its verdict fails)
    kind: str  # "qa" or "digest": which items it measures
    measure: Callable[[Any], Value]  # QACase or DigestCase -> the item's verdict (None: not applicable)
    aggregate: Callable[[Sequence[Value]], float | None] = m.mean
    graded: bool = False  # any value above zero passes the item (a rank, a count), not just 1.0 / True


METRICS: Registry[Metric] = Registry("eval metric", "the thresholds file")


def verdict_ok(key: str, value: Value) -> bool:
    if value is None:
        return True
    if any(metric.verdict == key and metric.graded for metric in METRICS.values()):
        return value > 0
    return value is True or (not isinstance(value, bool) and value >= 1.0)


def _answered(case: QACase, value: Callable[[QACase], Value]) -> Value:
    return None if case.answer.refused else value(case)


def _false_refusal_rate(values: Sequence[Value]) -> float | None:
    not_refused = m.mean(values)
    return None if not_refused is None else 1.0 - not_refused


def _register_builtins() -> None:
    qa: dict[str, Metric] = {
        "fact_recall": Metric(
            "fact_recall",
            "qa",
            lambda c: sum(c.facts_found) / len(c.facts_found) if c.item.answerable and c.facts_found else None,
        ),
        "retrieval_recall_at_k": Metric(
            "retrieval_hit", "qa", lambda c: None if c.reciprocal_rank is None else c.reciprocal_rank > 0
        ),
        "retrieval_mrr": Metric("retrieval_rr", "qa", lambda c: c.reciprocal_rank, graded=True),
        "citation_validity": Metric(
            "citation_valid", "qa", lambda c: _answered(c, lambda c: m.citation_validity(c.answer.text, c.cited))
        ),
        "citation_support": Metric(
            "citation_support",
            "qa",
            lambda c: _answered(
                c,
                lambda c: (
                    m.citation_support(
                        [f.forms for f in c.item.gold_facts], c.answer.text, [x.quote for x in c.answer.citations]
                    )
                    if c.item.answerable
                    else None
                ),
            ),
        ),
        "citation_coverage": Metric(
            "citation_coverage", "qa", lambda c: _answered(c, lambda c: m.citation_coverage(c.answer.text))
        ),
        "refusal_accuracy": Metric("refusal_correct", "qa", lambda c: None if c.item.answerable else c.answer.refused),
        "false_refusal_rate": Metric(
            "not_refused",
            "qa",
            lambda c: (not c.answer.refused) if c.item.answerable else None,
            aggregate=_false_refusal_rate,
        ),
        "language_match": Metric("language", "qa", lambda c: m.language_matches(c.answer.text, c.item.lang)),
        "judge_correctness": Metric(
            "judge", "qa", lambda c: c.judge(c.item, c.answer) if c.judge and c.item.answerable else None
        ),
    }
    digest: dict[str, Metric] = {
        "digest_citations_verified": Metric(
            "digest_citations_verified",
            "digest",
            lambda c: 1.0 - len(c.problems) / c.bullets if c.bullets else None,
        ),
        "digest_fact_coverage": Metric(
            "digest_fact_coverage",
            "digest",
            lambda c: sum(c.facts_found) / len(c.facts_found) if c.facts_found else None,
        ),
        "digest_stories_per_day": Metric(
            "digest_stories_per_day", "digest", lambda c: len(c.digest.stories) / c.days, graded=True
        ),
        "digest_no_duplicates": Metric("digest_no_duplicates", "digest", lambda c: c.duplicates == 0),
    }
    for name, metric in {**qa, **digest}.items():
        METRICS.register(name)(metric)


_register_builtins()
