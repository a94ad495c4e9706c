"""What a text asserts and whether a source holds it: names, numbers (digits and number words,
ordinals), and content words by word family.

Shared by the answer verifier (`rag.answers`) and the briefings (`rag.briefings`); the checks that
only answers make (yes/no against negation, "the X Y" asked against "X Z" cited) are in
`rag.answers.verify`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Set as AbstractSet

from veille.text.french import analyze, fold

_CAPITALISED = re.compile(r"\b[A-ZÀ-ÖØ-Þ][\w'’\-]+")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
# "20 000" and "20\u202f000" are one number, not "20" and "000" (but "en 2024 300 soldats" is two).
# "le 350e anniversaire" says no 350 of anything, and "16e" is not 16: an ordinal is its own detail.
_ORDINAL_AFTER = re.compile(r"(?:i?eme|ere|er|re|e|nde|nd|th|st|rd)s?\b")
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


# Nouns that say what kind of answer the question wants ("la date de création", "le nom du…", "quel
# type de…"), not what it is about: the sentence that answers says "créée en 1991", not "date".
FRAME_TERMS = frozenset(
    analyze(
        "date dates année années jour jours mois siècle époque nom noms nombre quantité endroit type types "
        "sorte sortes genre façon manière raison moment âge titre appelle appelait appellent"
    )
)


def about_terms(question: str) -> set[str]:
    """The question's terms that say what it is about (its frame nouns left out)."""
    return set(analyze(question)) - FRAME_TERMS


def numbers_text(text: str) -> str:
    """Digit groups joined: "30 000" -> "30000"."""
    return _DIGIT_GROUPS.sub(lambda m: re.sub(r"\D", "", m.group()), text)


def key_details(text: str) -> set[str]:
    """Names and numbers a claim asserts: each must be found in its source."""
    out: set[str] = set()
    for m in _CAPITALISED.finditer(text):
        word = fold(m.group()).strip().strip("'’-")
        if word and word not in GENERIC_CAPITALISED and word not in NUMBER_WORDS:
            out.add(word)
    numbers = numbers_text(fold(text))
    for m in _NUMBER.finditer(numbers):
        n = m.group().replace(",", ".")
        out.add(n + "e" if _ORDINAL_AFTER.match(numbers, m.end()) else n)
    out.update(NUMBER_WORDS[m.group(1).casefold()] for m in _NUMBER_WORD.finditer(text))
    return out


def _has_detail(detail: str, folded_passage: str) -> bool:
    if detail[0].isdigit():
        numbers = re.sub(r"(?<=\d),(?=\d)", ".", numbers_text(folded_passage))
        if detail.endswith("e"):  # an ordinal: "16e", "16eme", "16th" in the source
            return re.search(rf"(?<![\d.]){re.escape(detail[:-1])}{_ORDINAL_AFTER.pattern}", numbers) is not None
        if re.search(rf"(?<![\d.]){re.escape(detail)}(?![\d]|\.\d|{_ORDINAL_AFTER.pattern})", numbers):
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


# Noun-forming endings the stemmer keeps: "création" (creation) and "créée" (cre) are one family.
_DERIVED = ("ation", "ition", "ature", "atur", "ement", "at")


def _root(term: str) -> str:
    for suffix in _DERIVED:
        if term.endswith(suffix) and len(term) - len(suffix) >= 3:
            return term[: -len(suffix)]
    return term


def near(term: str, terms: AbstractSet[str]) -> bool:
    """`term` or a word of the same family ("russ" ~ "russi", "roumain" ~ "roumani", "creation" ~
    "cre"), not merely one that starts alike ("secret" is not "secretair")."""
    if term in terms:
        return True
    stem, root = term[:5], _root(term)
    return any((t.startswith(stem) and abs(len(t) - len(term)) <= 2) or _root(t) == root for t in terms)


def unsupported_terms(text: str, source: str) -> list[str]:
    """The content words of `text` (stems) that `source` has in no form of their family."""
    terms = set(analyze(source))
    return [t for t in dict.fromkeys(analyze(text)) if not near(t, terms)]
