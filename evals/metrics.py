"""Deterministic metrics: French-aware fact matching, citations, refusals, retrieval, language.

Each function judges one item (or aggregates), so a report can say which item
failed which metric.
"""

from __future__ import annotations

import re
import statistics
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence

from rag.details import NUMBER_WORDS
from veille.text.language import detect_language
from veille.text.sentences import split_sentences

_ELISION = re.compile(r"\b(?:l|d|j|m|n|s|t|c|qu|jusqu|lorsqu|puisqu)['’]", re.IGNORECASE)
_ARTICLES = frozenset("le la les l un une des du de d au aux the a an".split())
_NUMBER_RANGE = re.compile(r"(\d+)\s*(?:-|–|—|et|au|à|a|to|and)\s*(\d+)")
_MARKER = re.compile(r"\[(\d{1,3})\]")


def normalise(text: str) -> list[str]:
    """Tokens for fact matching: case, accents, punctuation, elisions and articles do not count,
    "14 et 15", "14-15", "14 au 15" are the same range, and "cinq" is "5"."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _ELISION.sub(" ", text)
    text = "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")
    text = _NUMBER_RANGE.sub(r"\1 \2", text)
    tokens = re.findall(r"\w+", text)
    return [NUMBER_WORDS.get(t, t) for t in tokens if t not in _ARTICLES]


def _contains(haystack: list[str], needle: list[str]) -> bool:
    if not needle:
        return False
    n = len(needle)
    return any(haystack[i : i + n] == needle for i in range(len(haystack) - n + 1))


def fact_in(forms: Iterable[str], text: str) -> bool:
    """Any form of the fact appears in the text, as a run of normalised tokens."""
    tokens = normalise(_MARKER.sub(" ", text))
    return any(_contains(tokens, normalise(f)) for f in forms)


def token_f1(forms: Iterable[str], text: str) -> float:
    """SQuAD's token F1 (the measure PIAF reports), best over the fact's forms, on the same
    normalised tokens as fact_in: "1400 vies humaines" against the gold span "c'est chaque année 1400
    vies humaines" scores 0.67 where containment scores 0."""
    got = Counter(normalise(_MARKER.sub(" ", text)))
    best = 0.0
    for form in forms:
        want = Counter(normalise(form))
        common = sum((got & want).values())
        if common:
            p, r = common / sum(got.values()), common / sum(want.values())
            best = max(best, 2 * p * r / (p + r))
    return best


def markers(text: str) -> list[int]:
    return [int(m) for m in _MARKER.findall(text)]


def citation_validity(text: str, cited: dict[int, tuple[str, str]]) -> bool:
    """Every [n] resolves to a citation, and every citation's quote is the article's own text.

    `cited` maps n to (quote, the article text at the citation's offsets)."""
    if any(n not in cited for n in markers(text)):
        return False
    return all(quote == at_offsets for quote, at_offsets in cited.values())


def citation_support(forms_by_fact: Sequence[Sequence[str]], answer_text: str, quotes: Sequence[str]) -> bool | None:
    """Each gold fact the answer states is in one of the quotes it cites; None when it states none."""
    stated = [forms for forms in forms_by_fact if fact_in(forms, answer_text)]
    if not stated:
        return None
    return all(any(fact_in(forms, q) for q in quotes) for forms in stated)


def citation_coverage(text: str) -> float | None:
    """Share of the answer's sentences that carry a [n] marker."""
    sentences = [s for s in split_sentences(text) if re.search(r"\w", _MARKER.sub("", s))]
    if not sentences:
        return None
    # A sentence made only of a marker belongs to the one before it.
    return sum(bool(_MARKER.search(s)) for s in sentences) / len(sentences)


def language_matches(text: str, expected: str) -> bool:
    """The answer is in the expected language; a few words (a name) carry no language."""
    words = re.findall(r"[^\W\d_]+", _MARKER.sub(" ", text))
    if len(words) < 4:
        return True
    return detect_language(text, default=expected) == expected


def reciprocal_rank(ranked: Sequence[set[str]], gold: set[str]) -> float:
    """1/rank of the first result whose keys (id, source, title) meet the gold set; 0 when none does."""
    for i, keys in enumerate(ranked, start=1):
        if keys & gold:
            return 1.0 / i
    return 0.0


def percentile(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q * (len(s) - 1))))]


def mean(values: Iterable[float | bool | None]) -> float | None:
    vals = [float(v) for v in values if v is not None]
    return statistics.fmean(vals) if vals else None
