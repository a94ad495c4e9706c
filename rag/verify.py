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

import itertools
import re
import unicodedata
from dataclasses import dataclass, field

from index.french import analyze, fold, word_terms
from index.sentences import sentence_spans
from rag.drafts import Claim, Draft
from rag.injection import is_instruction_like
from rag.matching import find_span, normalise
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
# "20 000" and "20\u202f000" are one number, not "20" and "000" (but "en 2024 300 soldats" is two).
_DIGIT_GROUPS = re.compile(r"(?<![\d.,])\d{1,3}(?:[ \u00a0\u202f]\d{3})+\b")
# Number words assert a number as much as digits do ("deux soldats" against a source saying three).
# Only standalone words: compounds ("vingt-deux", "vingt et un", "deux mille", "trois cents") are not
# parsed; "neuf" is mostly "new", "sept." an abbreviated month, "les deux" a pair already named.
NUMBER_WORDS = {
    "deux": "2", "trois": "3", "quatre": "4", "cinq": "5", "six": "6", "sept": "7", "huit": "8",
    "dix": "10", "onze": "11", "douze": "12", "treize": "13", "quatorze": "14",
    "quinze": "15", "seize": "16", "vingt": "20", "trente": "30", "quarante": "40",
    "cinquante": "50", "soixante": "60", "two": "2", "three": "3", "four": "4", "five": "5",
    "seven": "7", "eight": "8", "nine": "9", "ten": "10", "eleven": "11", "twelve": "12",
}  # fmt: skip
_COMPOUND_AFTER = r"(?![\w-])(?!\.)(?!\s+(?:et\b|cents?\b|mille\b|millions?\b|milliards?\b|hundred|thousand))"
_NUMBER_WORD = re.compile(
    rf"(?<![\w-])(?<!\bet )(?<!\bles )(?<!\bdes )(?<!\bces )(?<!\baux )({'|'.join(NUMBER_WORDS)}){_COMPOUND_AFTER}",
    re.IGNORECASE,
)
_WORDS_OF = {digits: [w for w, d in NUMBER_WORDS.items() if d == digits] for digits in NUMBER_WORDS.values()}
# Capitalised only because they open a sentence: not details to look for.
GENERIC_CAPITALISED = frozenset(
    fold(w)
    for w in """Oui Non Yes No Selon Le La Les Un Une Des Il Elle Ils Elles Aucun Aucune Cette Ce Ces Cet
    Depuis Pour Dans Sur Par Avec Lors Après Avant Mais Et Ou Donc Car En Au Aux Du De On Nous Vous
    Leur Leurs Son Sa Ses Plusieurs Certains Certaines Tous Toutes Alors Aussi Ainsi Comme Quand Parallèlement
    Cependant Toutefois Enfin Ensuite Puis The A An It They This That There""".split()
)


def _numbers_text(text: str) -> str:
    return _DIGIT_GROUPS.sub(lambda m: re.sub(r"\D", "", m.group()), text)


def key_details(text: str) -> set[str]:
    """Names and numbers a claim asserts: each must be found in its source."""
    out: set[str] = set()
    for m in _CAPITALISED.finditer(text):
        word = fold(m.group()).strip().strip("'’-")
        if word and word not in GENERIC_CAPITALISED and word not in NUMBER_WORDS:
            out.add(word)
    out.update(n.replace(",", ".") for n in _NUMBER.findall(_numbers_text(text)))
    out.update(NUMBER_WORDS[m.group(1).casefold()] for m in _NUMBER_WORD.finditer(text))
    return out


def _has_detail(detail: str, folded_passage: str) -> bool:
    if detail[0].isdigit():
        numbers = re.sub(r"(?<=\d),(?=\d)", ".", _numbers_text(folded_passage))
        if re.search(rf"(?<![\d.]){re.escape(detail)}(?![\d]|\.\d)", numbers):
            return True
        return any(re.search(rf"(?<![\w-]){w}{_COMPOUND_AFTER}", folded_passage) for w in _WORDS_OF.get(detail, ()))
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


def _locate_by_content(claim: Claim, passages: list[Passage]) -> list[tuple[int, int, int]]:
    """Passage sentences that carry most of the claim's content words, best first."""
    terms = set(analyze(claim.text))
    if not terms:
        return []
    found: list[tuple[float, int, int, int]] = []
    for pi, p in enumerate(passages):
        for s, e in sentence_spans(p.text):
            overlap = len(terms & set(analyze(p.text[s:e]))) / len(terms)
            bonus = 0.01 if claim.source == pi + 1 else 0.0
            if overlap >= 0.6:
                found.append((overlap + bonus, pi, s, e))
    found.sort(key=lambda f: -f[0])
    return [f[1:] for f in found]


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


_DETERMINERS = frozenset(
    "le la les l' l’ un une des du au aux ce cet cette ces son sa ses leur leurs notre votre the a an".split()
)
_RAW_WORD = re.compile(r"\w+['’]|[\w-]+")


def _near(term: str, terms: set[str]) -> bool:
    """`term` or a word of the same family ("russ" ~ "russi", "roumain" ~ "roumani"), not merely one
    that starts alike ("secret" is not "secretair")."""
    stem = term[:5]
    return term in terms or any(t.startswith(stem) and abs(len(t) - len(term)) <= 2 for t in terms)


def unsupported_terms(text: str, source: str) -> list[str]:
    """The content words of `text` (stems) that `source` has in no form of their family."""
    terms = set(analyze(source))
    return [t for t in dict.fromkeys(analyze(text)) if not _near(t, terms)]


def _qualifier_mismatch(question: str, support: str, window_terms: set[str]) -> str | None:
    """The question's "the X Y" (noun + qualifier) met as "X Z" in the support, with Y nowhere near.

    "Qui dirige la délégation russe ?" is not answered by "une délégation ukrainienne dirigée par
    Rustem Umerov", although two of its three terms are there. Only a noun introduced by a
    determiner is taken as qualified: "Quand Trump rencontre-t-il Poutine ?" has no such pair.
    """
    words = _RAW_WORD.findall(question)
    q_terms = set(analyze(question))
    pairs = []
    for det, noun, qualifier in zip(words, words[1:], words[2:], strict=False):
        x, y = (word_terms(noun) or [None])[0], (word_terms(qualifier) or [None])[0]
        if det.casefold() in _DETERMINERS and x and y and not _near(y, window_terms):
            pairs.append((x, y))
    if not pairs:
        return None
    sup = word_terms(support)
    for x, y in pairs:
        for u, z in itertools.pairwise(sup):
            if u == x and z and z != y and z not in q_terms:
                return f"the question asks about «{x} {y}…», the cited sentence about «{u} {z}…»"
    return None


def _sentence_index(spans: list[tuple[int, int]], s: int, e: int) -> tuple[int, int]:
    first = next((i for i, (a, b) in enumerate(spans) if b > s), len(spans) - 1)
    last = next((i for i, (a, b) in enumerate(spans) if b >= e), len(spans) - 1)
    return first, max(first, last)


def _check(claim: Claim, p: Passage, s: int, e: int, question: str) -> tuple[str | None, int, int]:
    """Why this support does not hold (None when it does), and the span to cite.

    The span is the sentence(s) holding the quote, widened to a neighbouring sentence when the
    claim's names or numbers stand there: a citation must show the words that name what it claims.
    """
    spans = sentence_spans(p.text) or [(0, len(p.text))]
    first, last = _sentence_index(spans, s, e)
    sent_s, sent_e = spans[first][0], spans[last][1]
    if is_instruction_like(p.text[sent_s:sent_e]):
        return "its support is an instruction inside an article, not a fact", s, e
    missing = missing_details(claim.text, p.text[sent_s:sent_e])
    for i in (first - 1, last + 1):
        if missing and 0 <= i < len(spans) and not is_instruction_like(p.text[spans[i][0] : spans[i][1]]):
            still = missing_details(claim.text, p.text[min(sent_s, spans[i][0]) : max(sent_e, spans[i][1])])
            if len(still) < len(missing):
                missing = still
                first, last = min(first, i), max(last, i)
                sent_s, sent_e = spans[first][0], spans[last][1]
    if missing:
        in_passage = missing_details(claim.text, p.text) != missing
        where = "cited sentence or its neighbours" if in_passage else "cited passage"
        return f"detail(s) not in the {where}: {', '.join(missing)}", s, e
    support = p.text[sent_s:sent_e]
    question_terms = set(analyze(question))
    if question_terms:
        context = p.text[spans[first - 1][0] : spans[first - 1][1]] if first > 0 else ""
        alone = len(question_terms & set(analyze(support)))
        with_context = len(question_terms & set(analyze(f"{context} {support}")))
        n = len(question_terms)
        if alone < MIN_QUESTION_COVERAGE * n and with_context < MIN_QUESTION_COVERAGE_WITH_CONTEXT * n:
            return "its support is not about the question", s, e
        mismatch = _qualifier_mismatch(question, support, set(analyze(f"{context} {support}")))
        if mismatch:
            return f"its support is about something else: {mismatch}", s, e
    return None, sent_s, sent_e


def verify(draft: Draft, passages: list[Passage], question: str) -> Verification:
    result = Verification()
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
                why, s, e = _check(claim, passages[pi], span.start, span.end, question)
                if why is None:
                    located = (pi, s, e, pi + 1 != claim.source or not span.exact)
                    break
                reason = why
        if located is None:
            # Re-attach: the claim's content may stand in a sentence the model did not quote.
            for pi, s0, e0 in _locate_by_content(claim, passages):
                why, s, e = _check(claim, passages[pi], s0, e0, question)
                if why is None:
                    located = (pi, s, e, True)
                    break
                reason = why if reason.startswith("its quote is in none") else reason
        if located is None:
            result.dropped.append((claim, reason))
            continue
        pi, sent_s, sent_e, repaired = located
        if (pi, sent_s, sent_e) in seen:
            continue
        seen.add((pi, sent_s, sent_e))
        text = claim.text.strip()
        support = passages[pi].text[sent_s:sent_e]
        if _bare_or_contradicted(text, support):
            # "Oui." says nothing checkable, and small models say "Oui" to negated sources:
            # the supporting sentence itself is the honest answer.
            text = support
        # The citation is the whole supporting sentence: a model's partial quote can stop short of
        # the name it supports ("elle sera dirigée par le représentant spécial du président russe").
        result.claims.append(SupportedClaim(text, pi, sent_s, sent_e, repaired))
    return result
