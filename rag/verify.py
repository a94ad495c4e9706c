"""Verification in code: every claim must be supported by a passage the model was shown.

For each claim of a Draft:
1. its quote must stand in a shown passage (verbatim or near-verbatim); if it
   stands in another passage than the one named, the citation is re-attached;
2. a claim with no usable quote is re-attached to the sentence that carries its
   content words, if one does;
3. the details it asserts (names, numbers) must appear in the cited passage, it
   must be about the question, and its support may not be an instruction-like
   sentence (prompt injection).
Claims that fail are dropped with a reason; an answer with none left is a refusal.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from index.french import analyze, fold
from index.sentences import sentence_spans
from rag.drafts import Claim, Draft
from rag.injection import is_instruction_like
from rag.matching import find_span, normalise, sentence_at
from rag.retrieval import Passage


@dataclass(frozen=True)
class SupportedClaim:
    text: str
    passage: int  # 0-based index into the shown passages
    quote_start: int  # offsets into passage.text
    quote_end: int
    repaired: bool  # re-attached to another passage or span than the model said


@dataclass
class Verification:
    claims: list[SupportedClaim] = field(default_factory=list)
    dropped: list[tuple[Claim, str]] = field(default_factory=list)


_CAPITALISED = re.compile(r"\b[A-ZÀ-ÖØ-Þ][\w'’\-]+")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
# Capitalised only because they open a sentence: not details to look for.
GENERIC_CAPITALISED = frozenset(
    fold(w)
    for w in """Oui Non Yes No Selon Le La Les Un Une Des Il Elle Ils Elles Aucun Aucune Cette Ce Ces Cet
    Depuis Pour Dans Sur Par Avec Lors Après Avant Mais Et Ou Donc Car En Au Aux Du De On Nous Vous
    Leur Leurs Son Sa Ses Plusieurs Certains Certaines Tous Toutes Alors Aussi Ainsi Comme Quand Parallèlement
    Cependant Toutefois Enfin Ensuite Puis The A An It They This That There""".split()
)


def key_details(text: str) -> set[str]:
    """Names and numbers a claim asserts: each must be found in its source."""
    out: set[str] = set()
    for m in _CAPITALISED.finditer(text):
        word = fold(m.group()).strip().strip("'’-")
        if word and word not in GENERIC_CAPITALISED:
            out.add(word)
    out.update(n.replace(",", ".") for n in _NUMBER.findall(text))
    return out


def _has_detail(detail: str, folded_passage: str) -> bool:
    if detail[0].isdigit():
        return detail in folded_passage.replace(",", ".").replace("\u202f", "").replace(" ", "")
    # Word-ish match on the folded text; allow inflection at the end ("russe" ~ "russes").
    return re.search(rf"\b{re.escape(detail[: max(4, len(detail) - 2)])}", folded_passage) is not None


def contains_detail(source: str, detail: str) -> bool:
    """Whether `source` carries one detail as key_details gives it (folded name or number)."""
    return _has_detail(detail, _folded(source))


def missing_details(text: str, source: str) -> list[str]:
    """The names and numbers of `text` that `source` does not contain."""
    folded = _folded(source)
    return sorted(d for d in key_details(text) if not _has_detail(d, folded))


def _folded(text: str) -> str:
    return fold(unicodedata.normalize("NFC", text))


def _locate_by_content(claim: Claim, passages: list[Passage]) -> tuple[int, int, int] | None:
    """The passage sentence that carries most of the claim's content words."""
    terms = set(analyze(claim.text))
    if not terms:
        return None
    best: tuple[float, int, int, int] | None = None
    for pi, p in enumerate(passages):
        for s, e in sentence_spans(p.text):
            overlap = len(terms & set(analyze(p.text[s:e]))) / len(terms)
            bonus = 0.01 if claim.source == pi + 1 else 0.0
            if overlap >= 0.6 and (best is None or overlap + bonus > best[0]):
                best = (overlap + bonus, pi, s, e)
    return None if best is None else best[1:]


# Share of the question's terms that the supporting sentence must contain (more when it borrows
# the sentence before it): a true quote about something else ("the Ukrainian delegation is led
# by X" for a question on the Russian one) is not support.
MIN_QUESTION_COVERAGE = 0.5
MIN_QUESTION_COVERAGE_WITH_CONTEXT = 0.75


_YES = re.compile(r"^\W*(oui|yes|si)\b", re.IGNORECASE)
_YES_NO = re.compile(r"^\W*(oui|non|yes|no|si)\b\W*", re.IGNORECASE)
_NEGATION = re.compile(r"\b(ne|n['’]|aucune?|jamais|pas|non|ni|not|no|never|none|neither)\b", re.IGNORECASE)


def _bare_or_contradicted(text: str, support: str) -> bool:
    """A yes/no claim with nothing else to check, or a "yes" against a negated source sentence."""
    rest = _YES_NO.sub("", text)
    if _YES_NO.match(text) and len(analyze(rest)) < 2:
        return True
    return bool(_YES.match(text)) and _NEGATION.search(support) is not None


def _check(claim: Claim, p: Passage, s: int, e: int, question_terms: set[str]) -> str | None:
    """Why this support does not hold, or None when it does."""
    sent_s, sent_e = sentence_at(p.text, s, e)
    support = p.text[sent_s:sent_e]
    if is_instruction_like(support):
        return "its support is an instruction inside an article, not a fact"
    missing = missing_details(claim.text, p.text)
    if missing:
        return f"detail(s) not in the cited passage: {', '.join(sorted(missing))}"
    if question_terms:
        alone = len(question_terms & set(analyze(support)))
        before = [sp for sp in sentence_spans(p.text) if sp[1] <= sent_s]
        context = p.text[before[-1][0] : before[-1][1]] if before else ""
        with_context = len(question_terms & set(analyze(f"{context} {support}")))
        n = len(question_terms)
        if alone < MIN_QUESTION_COVERAGE * n and with_context < MIN_QUESTION_COVERAGE_WITH_CONTEXT * n:
            return "its support is not about the question"
    return None


def verify(draft: Draft, passages: list[Passage], question: str) -> Verification:
    result = Verification()
    question_terms = set(analyze(question))
    seen: set[tuple[int, int, int]] = set()
    for claim in draft.claims:
        if not re.search(r"\w\w", claim.text):
            if not re.search(r"\w\w", claim.quote):
                result.dropped.append((claim, "empty claim"))
                continue
            # No answer sentence ("...", a copied placeholder) but a quote: the quote says it.
            claim = Claim(claim.quote, claim.source, claim.quote)
        order = list(range(len(passages)))
        if claim.source is not None and 1 <= claim.source <= len(passages):
            order.remove(claim.source - 1)
            order.insert(0, claim.source - 1)
        located: tuple[int, int, int, bool] | None = None
        reason = "its quote is in none of the passages shown"
        if len(normalise(claim.quote).text) >= 4:
            for pi in order:
                span = find_span(claim.quote, passages[pi].text)
                if span is None:
                    continue
                why = _check(claim, passages[pi], span.start, span.end, question_terms)
                if why is None:
                    repaired = pi + 1 != claim.source or not span.exact
                    located = (pi, span.start, span.end, repaired)
                    break
                reason = why
        if located is None:
            by_content = _locate_by_content(claim, passages)
            if by_content is not None:
                pi, s, e = by_content
                why = _check(claim, passages[pi], s, e, question_terms)
                if why is None:
                    located = (pi, s, e, True)
                else:
                    reason = why
        if located is None:
            result.dropped.append((claim, reason))
            continue
        pi, s, e, repaired = located
        if (pi, s, e) in seen:
            continue
        seen.add((pi, s, e))
        text = claim.text.strip()
        sent_s, sent_e = sentence_at(passages[pi].text, s, e)
        support = passages[pi].text[sent_s:sent_e]
        if _bare_or_contradicted(text, support):
            # "Oui." says nothing checkable, and small models say "Oui" to negated sources:
            # the supporting sentence itself is the honest answer.
            text = support
        # The citation is the whole supporting sentence: a model's partial quote can stop short of
        # the name it supports ("elle sera dirigée par le représentant spécial du président russe").
        result.claims.append(SupportedClaim(text, pi, sent_s, sent_e, repaired))
    return result
