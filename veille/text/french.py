"""French-aware analysis for the lexical index (English for English articles): the same for texts and queries."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from functools import lru_cache

import snowballstemmer

# Letters and digits: "_" is a word character to `re` but a separator to FTS5's tokenizer.
_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)
# l'Ukraine, d’Axios, qu'elle, jusqu'à: the elided article is dropped.
_ELISION = re.compile(r"\b(?:l|d|j|m|n|s|t|c|qu|jusqu|lorsqu|puisqu|quoiqu)['’]", re.IGNORECASE)

_STOPWORDS = frozenset(
    unicodedata.normalize("NFKD", w).encode("ascii", "ignore").decode()
    for w in """
    a à au aux avec ce ces cet cette dans de des du elle elles en est et été être eu il ils je
    la le les leur leurs lui ma mais me même mes moi mon ne nos notre nous on ou où par pas pour
    qu que qui sa se ses son sur ta te tes toi ton tu un une vos votre vous y ont sont était
    étaient sera seront fait plus aussi comme dont si sans sous entre vers chez quel quelle
    quels quelles quoi comment combien pourquoi quand lequel laquelle the of and to in is are
    was were for on with by an at from that this it as be
    """.split()
)

_stemmer = snowballstemmer.stemmer("french")

# English articles (lang "en") get English stop words and stemming: "negotiated" and "negotiations"
# meet, which the French rules leave apart.
_EN_STOPWORDS = frozenset(
    """
    a about above after again against all am an and any are as at be because been before being below between
    both but by can could did do does doing down during each few for from further had has have having he her
    here hers herself him himself his how i if in into is it its itself just me more most my myself no nor not
    now of off on once only or other our ours out over own same she should so some such than that the their
    theirs them then there these they this those through to too under until up very was we were what when where
    which while who whom why will with would you your yours yourself s t don doesn didn isn wasn aren weren
    """.split()
)
_en_stemmer = snowballstemmer.stemmer("english")


def _strip_accents(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    return "".join(c for c in text if not unicodedata.combining(c)).replace("œ", "oe").replace("æ", "ae")


def fold(text: str) -> str:
    """Lowercase, no accents, no elisions: 'L’État' and 'etat' become the same."""
    return _strip_accents(_ELISION.sub(" ", text).casefold())


@lru_cache(maxsize=200_000)
def _term(word: str) -> str:
    """Stem with the accents (Snowball's French rules need them), then fold them away."""
    if word.isdigit():
        return word
    return _strip_accents(str(_stemmer.stemWord(word)))


def _words(text: str) -> Iterator[tuple[str, str | None]]:
    """Each word, casefolded, with its accent-less form, or None for a stopword or a lone letter."""
    # NFC first: a decomposed "é" (e + combining accent) is not a word character.
    for word in _TOKEN.findall(_ELISION.sub(" ", unicodedata.normalize("NFC", text)).casefold()):
        bare = _strip_accents(word)
        stop = (len(word) == 1 and not word.isdigit()) or bare in _STOPWORDS
        yield word, None if stop else bare


def word_terms(text: str) -> list[str | None]:
    """Each word of `text` in order: its index term, or None for a stopword (keeps adjacency visible)."""
    return [None if bare is None else _term(word) for word, bare in _words(text)]


@lru_cache(maxsize=100_000)
def _term_en(word: str) -> str:
    return word if word.isdigit() else _strip_accents(str(_en_stemmer.stemWord(word)))


def analyze(text: str, *, variants: bool = False, lang: str = "fr") -> list[str]:
    """Index terms: folded, stopwords out, Snowball-stemmed; numbers kept as they are.

    With `variants` (for indexed texts), a word whose accent-less form stems differently
    also gives that stem ('sécurité' → 'secur' and 'securit'), so that a query typed
    without accents ('securite' → 'securit') still finds it. `lang="en"` analyses English
    (its stop words and stemmer); every other language gets the French rules.
    """
    if lang == "en":
        words = _TOKEN.findall(unicodedata.normalize("NFC", text).casefold())
        return [_term_en(w) for w in words if (len(w) > 1 or w.isdigit()) and w not in _EN_STOPWORDS]
    terms = []
    for word, bare in _words(text):
        if bare is None:
            continue
        term = _term(word)
        terms.append(term)
        if variants and bare != word and _term(bare) != term:
            terms.append(_term(bare))
    return terms
