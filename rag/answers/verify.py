"""The checks only answers make, on top of `rag.details`: a yes/no claim against a negated source,
and the question's "the X Y" (noun + qualifier) met as "X Z" in the cited sentence.
"""

from __future__ import annotations

import itertools
import re

from rag.details import near
from veille.text.french import analyze, word_terms

_YES = re.compile(r"^\W*(oui|yes|si)\b", re.IGNORECASE)
_YES_NO = re.compile(r"^\W*(oui|non|yes|no|si)\b\W*", re.IGNORECASE)
_NEGATION = re.compile(r"\b(ne|n['’]|aucune?|jamais|pas|non|ni|not|no|never|none|neither)\b", re.IGNORECASE)


def bare_or_contradicted(text: str, support: str) -> bool:
    """A yes/no claim with nothing else to check, or a "yes" against a negated source sentence."""
    rest = _YES_NO.sub("", text)
    if _YES_NO.match(text) and len(analyze(rest)) < 2:
        return True
    return bool(_YES.match(text)) and _NEGATION.search(support) is not None


_DETERMINERS = frozenset(
    "le la les l' l’ un une des du au aux ce cet cette ces son sa ses leur leurs notre votre the a an".split()
)
_RAW_WORD = re.compile(r"\w+['’]|[\w-]+")


def qualifier_mismatch(question: str, support: str, window_terms: set[str]) -> str | None:
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
        # "le 30 juin" is a date, not a noun and its qualifier: "30 000 hommes" does not contradict it.
        # A capitalised qualifier is a name ("le club Rhein-Neckar Löwen"): the names rule checks it,
        # and what follows the noun in a sentence ("le club entre…") is then no other club.
        if (
            det.casefold() in _DETERMINERS
            and x
            and y
            and not x[0].isdigit()
            and not qualifier[:1].isupper()
            and not near(y, window_terms)
        ):
            pairs.append((x, y))
    if not pairs:
        return None
    sup = word_terms(support)
    for x, y in pairs:
        for u, z in itertools.pairwise(sup):
            if u == x and z and z != y and z not in q_terms:
                return f"the question asks about «{x} {y}…», the cited sentence about «{u} {z}…»"
    return None
