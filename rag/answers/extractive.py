"""Answers without a language model: the shown sentence that best answers the question, quoted and cited.

Used when `VEILLE_LLM=none`, and as the fallback when the configured LLM cannot be reached. A
sentence answers when it is about the question (its names, most of its terms, with the sentence
before it and the title as context: the same rule as `rag.answers.support`) and carries what the question
asks for: a name for "qui/who" and "où/where", a number for "combien/how many", a date for
"quand/when", and in any case something the question does not already say. Nothing passes: refusal.

A quote stands in for an answer only when the sentence itself carries half of the question's terms
(the sentence before it counting half): `MIN_QUOTE_COVERAGE`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rag.answers.grounding import Sentence, neighbours
from rag.answers.support import _MONTHS, Judge, _about, asked_kind, first_kind, question_names, says_kind
from rag.details import GENERIC_CAPITALISED, near
from rag.retrieval import Passage
from veille.text.french import analyze, fold

_DATE = re.compile(rf"\b(\d{{1,2}}\s+({_MONTHS})|({_MONTHS})\s+\d{{4}}|\d{{4}}|\d{{1,2}}/\d{{1,2}}/\d{{2,4}})\b")
_NUMBER = re.compile(
    r"\d|\b(un|une|deux|trois|quatre|cinq|six|sept|huit|neuf|dix|onze|douze|vingt|trente|cent|mille|"
    r"million|milliard|one|two|three|four|five|ten|hundred|thousand|dozen)s?\b"
)
# The share of the question's terms a quoted sentence must hold itself (those only in the sentence
# before it count half). Without it a quote could rest on the context alone: "L'année 2013 marque le
# 350e anniversaire de l'arrivée des Filles du Roy…" quoted for the girls' dowry. On the recorded
# PIAF dev outputs (benchmarks/answer_losses.py, 60 + 60 each; calibration slice, then held-out):
# quoting the model's sentence after a failed draft, 0 → 0.5: right 25 → 25 and 23 → 23, wrong
# 10 → 9 and 17 → 17, unanswerable answered 8 → 6 and 9 → 7; with VEILLE_LLM=none: right 30 → 27
# and 33 → 32, wrong 9 → 6 and 10 → 6, unanswerable answered 12 → 8 and 11 → 7. 0.6 cost 3 and 7
# right answers without the model.
MIN_QUOTE_COVERAGE = 0.5
_CAPITALISED = re.compile(r"(?<!^)(?<![.!?]\s)\b[A-ZÀ-ÖØ-Þ][\w'’-]+")

_WANTS = [
    # (kind, pattern on the folded question)
    ("number", re.compile(r"^\W*(combien|quel(le)?s? (est|sont|etait|etaient) (le|la|les) (nombre|montant|prix|"
                          r"taux|age|population|superficie|hauteur|longueur|distance)|how (many|much))\b")),
    ("date", re.compile(r"^\W*(quand|en quelle annee|a quelle date|depuis quand|when|what year|in which year)\b|"
                        r"\b(quelle|what) (annee|date|year)\b")),
    ("name", re.compile(r"^\W*(qui|who|whom|ou|where|d'ou|par qui)\b|\bqui (est|sont|etait|a|ont|dirige)\b")),
]  # fmt: skip


def expected_kind(question: str) -> str | None:
    return first_kind(_WANTS, question)


def _has_kind(kind: str | None, text: str, question: str) -> bool:
    if kind is None:
        return True
    if kind == "number":
        return _NUMBER.search(fold(text)) is not None
    if kind == "date":
        return _DATE.search(fold(text)) is not None
    asked = {fold(w) for w in re.findall(r"[^\W_]+", question)}
    return any(
        fold(m.group()) not in asked and fold(m.group()) not in GENERIC_CAPITALISED for m in _CAPITALISED.finditer(text)
    )


def _new_terms(text: str, question: str) -> int:
    asked = set(analyze(question))
    return sum(1 for t in set(analyze(text)) if not near(t, asked))


@dataclass(frozen=True)
class Pick:
    sentence: Sentence
    coverage: float  # share of the question's terms in the sentence (those in the one before: half)

    @property
    def score(self) -> float:
        """The coverage, less a hair per passage rank: earlier passages win ties."""
        return self.coverage - 0.01 * self.sentence.passage


def best_sentences(
    question: str,
    sentences: Sequence[Sentence],
    shown: Sequence[Passage],
    limit: int = 1,
    judge: Judge | None = None,
    among: Sequence[int] | None = None,
    min_coverage: float = 0.0,
) -> list[Pick]:
    """The shown sentences that answer the question, best first (empty: refuse); `among`: only those
    ids; `min_coverage`: only those that hold that share of the question's terms (MIN_QUOTE_COVERAGE
    for a sentence that is to be quoted as the answer)."""
    judge = judge or Judge()
    q_terms = set(analyze(question))
    if not q_terms and not question_names(question):
        return []
    kind = expected_kind(question)
    # The verifier's reading of the question too ("Quelle est la date de…" asks for a date): a quote
    # must hold what a model's answer would have had to.
    asked = asked_kind(question)
    picks = []
    allowed = set(among) if among is not None else None
    for s in sentences:
        if allowed is not None and s.n not in allowed:
            continue
        if _about((s,), sentences, shown, question, judge) is not None:
            continue
        if not _has_kind(kind, s.text, question) or _new_terms(s.text, question) < 1:
            continue
        if asked is not None and not says_kind(asked, s.text):
            continue
        have = set(analyze(s.text))
        before = " ".join(x.text for x in neighbours(sentences, s) if x.n < s.n)
        context = have | set(analyze(before))
        # The sentence's own coverage counts fully, the one before it half.
        own = sum(1 for t in q_terms if near(t, have))
        borrowed = sum(1 for t in q_terms if not near(t, have) and near(t, context))
        coverage = (own + 0.5 * borrowed) / max(1, len(q_terms))
        if coverage < min_coverage:
            continue
        picks.append(Pick(s, coverage))
    picks.sort(key=lambda p: -p.score)
    return picks[:limit]
