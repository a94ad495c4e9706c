"""Does a question asked in a conversation lean on what was said before it?

In a chat, every turn after the first arrives with history, and rewriting it into a stand-alone
question costs a model call (on 2 cores, seconds of prompt reading and a few of writing) and throws
the answer prompt's cached prefix out of the model's KV cache. Most questions asked in a chat are
already complete ("Qui dirige la délégation ukrainienne ?"); only those that point back need the
rewrite ("Et la délégation ukrainienne ?", "Où se sont-ils rendus ?", "Quel âge a-t-il ?").

The rules look for what points back: a leading "et"/"mais"; a third-person pronoun with no noun in
the question it could stand for; an object pronoun before its verb ("l'ont signé"); a possessive
with nothing before it; demonstratives, "ça", "celui", "tel", "l'autre", "là", "aussi", "ensuite",
"côté"; and questions too short to stand alone. Where a word is ambiguous they lean towards "points
back": a wrong "points back" costs the rewrite that every follow-up used to get, a wrong "stands
alone" answers the question as asked. They cannot see an object left out ("Comment a réagi
Zelensky ?" after a question about a decree) nor tell a verb from a noun ("Qui a marqué le but ?"
counts two content words).
"""

from __future__ import annotations

import difflib
import re
import unicodedata

from veille.text.french import analyze

# Only at the start: "et", "mais" and the like join a question to the one before. ("ensuite", "aussi",
# "idem", "qu'en" point back anywhere: _FR_POINTING has them.)
_FR_LEADING = re.compile(r"^(?:et|mais|puis|donc|sinon|quid)\b")
# Words that only make sense with an antecedent: object and disjunctive pronouns, demonstratives,
# "the same", "which others", "there", "also", "then".
_FR_POINTING = re.compile(
    r"(?<![\w-])(?:lui|eux|cet|cette|ces|ledit|ladite|lesdits|lesdites|là|l[aà]-bas|alors|[eé]galement|aussi"
    r"|encore|ensuite|pr[eé]c[eé]dente?s?|ça|cela|celui|celle|ceux|celles|tel|telle|tels|telles|c[oô]t[eé]"
    r"|idem|pareil)(?![\w])"
    r"|\b(?:le|la|les)\s+m[eê]mes?\b|\bm[eê]me\s+chose\b|\bd'autres?\b|\bquel(?:le)?s?\s+autres?\b"
    r"|\bl'autre\b|\bles\s+autres\b|\bautre\s+chose\b|\bqu'en\b"
    r"|\ben\s+(?:dire|savoir|penser?|pensez|pensent)\b|-m'en\b|\bplus\s+de\s+d[eé]tails\b"
)
# An object pronoun before its verb: "Quels pays l'ont signé ?", "Le gouvernement le confirme-t-il ?"
_FR_CLITIC = re.compile(
    r"(?<![\w-])l'(?:a|ai|as|ont|avait|avaient|aura|auront|aurait|est|sont|était|étaient|a-t-il|a-t-elle)(?![\w])"
    r"|(?<![\w-])(?:le|la|les|l')\s*[\w]+-(?:t-)?(?:il|elle|ils|elles|on)(?![\w-])"
)
# "ce" as a determiner ("ce jour", "ce pays"), not "ce que", "ce qui", "est-ce", "c'est".
_FR_CE = re.compile(r"(?<![\w-])ce\s+(?!qu|qui\b|dont\b|sont\b|soit\b|serait\b|fut\b|sera\b|n'|ne\b)\w")
# "y" as a pronoun ("Qui y participe ?"), not the "il y a" / "y a-t-il" idiom.
_FR_Y = re.compile(r"(?<![\w-])y(?!\s+(?:a|avait|aura|aurait|eut|ont)\b)(?![\w-])")
# A pronoun after its verb, written "a-t-il", "sont-ils" or, as people type, "a t il", "est il".
_FR_INVERTED = re.compile(r"([\w']+)(?:-|\s+)(?:t(?:-|\s+))?(il|elle|ils|elles)(?![\w-])")
# A subject pronoun or a possessive in its ordinary place: "Où est-ce qu'il est allé ?", "Quel est son rôle ?"
_FR_ANAPHOR = re.compile(r"(?<![\w-])(?:il|elle|ils|elles|son|sa|ses|leurs?)(?![\w-])")
_FR_IMPERSONAL_VERBS = {"a", "agit", "faut", "existe", "reste"}
# The interrogative determiners whose noun is usually the object, not the subject: "Quel âge a-t-il ?"
_FR_INTERROGATIVE_DET = frozenset("quel quelle quels quelles combien lequel laquelle lesquels lesquelles".split())

_EN_LEADING = re.compile(r"^(?:and|but|so|then|also|or|what about|how about|same)\b")
_EN_POINTING = re.compile(
    r"\b(?:he|she|they|him|her|them|his|hers|its|their|theirs|it|this|these|those|there|former|latter"
    r"|else|too|also|other|others|same|then|that|next|more|further)\b"
)

# Fewer content words than this and a question cannot carry its own subject ("Pourquoi ?", "Qui est
# l'architecte ?"), unless the one it has is a name ("Où est l'Ouganda ?").
_MIN_TERMS = 2


def _normalise(question: str) -> str:
    text = unicodedata.normalize("NFC", question).casefold().replace("’", "'").replace("‘", "'")
    return " ".join(text.split()).strip(" ?!.¿")


def _antecedents(words_before: str) -> int:
    """Content words before a pronoun that it could stand for, the noun of "quel …" left out:
    "Quand le traité a-t-il été signé ?" has one; "Quand a-t-il été signé ?" and "Quel âge
    a-t-il ?" ("âge" belongs to "quel", the question's object) have none."""
    skip_noun = False
    count = 0
    words = re.findall(r"[^\W_]+", words_before)
    for i, word in enumerate(words):
        if word in _FR_INTERROGATIVE_DET:
            # "combien de soldats" is a determiner, "combien Françoise gagnait-elle" is not.
            skip_noun = word != "combien" or words[i + 1 : i + 2] in (["de"], ["d"])
            continue
        if not analyze(word):
            continue  # a stopword: "le", "de", "en", "où", "quand"
        if skip_noun:
            skip_noun = False
            continue
        count += 1
    return count


def _french_points_back(text: str) -> bool:
    if any(p.search(text) for p in (_FR_LEADING, _FR_POINTING, _FR_CLITIC, _FR_CE, _FR_Y)):
        return True
    inverted = []
    for match in _FR_INVERTED.finditer(text):
        inverted.append(match.start(2))
        verb = match.group(1).split("'")[-1]
        if match.group(2) == "il" and _impersonal(text, match, verb):
            continue
        # The verb is the word before the pronoun: any content word before it can be the subject.
        if _antecedents(text[: match.start()]) == 0:
            return True
    for match in _FR_ANAPHOR.finditer(text):
        if match.start() in inverted or _impersonal_il(text, match):
            continue
        # The words before include the main verb ("Qui dirige sa …"): an antecedent takes one more.
        if _antecedents(text[: match.start()]) < 2:
            return True
    return False


def _impersonal(text: str, match: re.Match[str], verb: str) -> bool:
    """'y a-t-il', 's'agit-il', 'faut-il', 'existe-t-il', 'reste-t-il': no antecedent needed."""
    if verb not in _FR_IMPERSONAL_VERBS:
        return False
    if verb != "a":
        return True
    before = text[: match.end(1) - len(verb)].rstrip()
    return before == "y" or before.endswith((" y", "'y"))


_IMPERSONAL_AFTER_IL = re.compile(r"\s+(?:y|faut|s'agit|existe|reste)\b")


def _impersonal_il(text: str, match: re.Match[str]) -> bool:
    """'il y a', 'il faut', 'il s'agit', 'il existe', 'il reste'."""
    return match.group() == "il" and _IMPERSONAL_AFTER_IL.match(text, match.end()) is not None


def _names_something(question: str) -> bool:
    """A capitalised word after the first, or an acronym: "Où est l'Ouganda ?", "c'est quoi une DMZ"."""
    words = re.findall(r"[^\W\d_]+", unicodedata.normalize("NFC", question))
    return any(w[0].isupper() for w in words[1:]) or any(len(w) > 1 and w.isupper() for w in words)


def needs_context(question: str, lang: str = "fr") -> bool:
    """True when the question points back at the conversation and should be rewritten before
    retrieval; False when it stands on its own and can be answered as asked."""
    text = _normalise(question)
    terms = set(analyze(text, lang=lang))
    if len(terms) < _MIN_TERMS and not (terms and _names_something(question)):
        return True
    if lang == "en":
        return bool(_EN_LEADING.search(text) or _EN_POINTING.search(text))
    return _french_points_back(text)


_QUESTION_WORDS = {
    "fr": ("où", "quand", "qui", "combien", "pourquoi", "comment"),
    "en": ("where", "when", "who", "how", "why"),
}


def faithful_rewrite(follow_up: str, rewrite: str, lang: str = "fr") -> bool:
    """Whether a stand-alone rewrite still asks what the follow-up asked.

    A rewrite should add what the conversation said (who "ils" are) and drop nothing the follow-up
    asks: its question word ("où" rewritten as "quels sont les lieux de travail" asks something
    else) and its content words ("combien compte-t-on d'îles grecques ?" rewritten as a question
    about ferries). Words that only point back ("ensuite", "idem", "côté") may go; a word may change
    its form or spelling ("ukrainienne" → "l'Ukraine", "démisionné" → "démissionné"); and a
    follow-up of three content words or more may lose one ("réagi" → "la réaction")."""
    asked = re.findall(r"[^\W_]+", _normalise(follow_up))
    said = set(re.findall(r"[^\W_]+", _normalise(rewrite)))
    if any(w in asked and w not in said for w in _QUESTION_WORDS.get(lang, _QUESTION_WORDS["fr"])):
        return False
    pointing = _EN_POINTING if lang == "en" else _FR_POINTING
    own = {t for w in asked if not pointing.fullmatch(w) for t in analyze(w, lang=lang)}
    kept = set(analyze(rewrite, lang=lang))
    missing = [t for t in own if not any(_same_word(t, k) for k in kept)]
    return not missing or (len(missing) == 1 and len(own) >= 3)


def _same_word(a: str, b: str) -> bool:
    """Two stems of one word: equal, one the other's start (5+ letters), or nearly the same letters
    (difflib's ratio 0.85 or more, 4+ letters: a typo, "russ"/"russi")."""
    if a == b:
        return True
    short, long_ = sorted((a, b), key=len)
    if len(short) >= 5 and long_.startswith(short):
        return True
    return len(short) >= 4 and difflib.SequenceMatcher(None, a, b).ratio() >= 0.85
