"""Is an answer supported by the sentences it cites, and are they about what the question asks?

The model names sentence ids; nothing it writes is trusted. Each claim (a sentence of the answer):
1. its names and numbers must stand in its cited sentences or their immediate neighbours;
2. its content words too (stems, a word family counts), except words the question itself gives, and
   up to a small allowance for paraphrase; across languages (an English answer over French articles)
   only names and numbers can be compared;
3. the cited sentence, with the one before it and its article's title, must be about the question:
   it must hold the question's names (one letter off allowed in a long one: users misspell names)
   and enough of its terms (half, and at least two; the nouns that only frame what is asked, "la
   date de", "le nom de", do not count), and not a different "X Y" where the question asks about
   "X Z" ("la délégation ukrainienne" is not "la délégation russe"); the days and years the question
   names must stand near it, and so must the question's most specific term (the one the fewest
   shown sentences hold: "en aviron" against a sibling sentence "en natation").
4. it must say something the question does not: "sa maison" to "À quelle maison…" is no answer.
A claim whose cited ids fail is re-attached to the shown sentence that passes, if one does; a
claim nothing supports is dropped. Each rule's share of wrong answers stopped against right
answers refused was measured on PIAF dev (benchmarks/answers.py, see benchmarks/README.md).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from rag.answers.grounding import Sentence, neighbours
from rag.answers.verify import bare_or_contradicted, qualifier_mismatch
from rag.details import GENERIC_CAPITALISED, about_terms, key_details, missing_details, near, numbers_text
from rag.retrieval import Passage
from veille.text.french import analyze, fold
from veille.text.sentences import split_sentences

# Share of the question's terms that the cited sentence (with the one before it and the title) must
# hold, and how many of the answer's content words may be absent from its support (paraphrase).
MIN_QUESTION_COVERAGE = 0.5
UNSUPPORTED_WORDS_ALLOWED = 1
# ... and at least this many of them (all of a shorter question's) unless the question asks for a
# place, a date or a number (checked on its own): one shared word ("record", "livre") is what a
# sentence of the same article about something else has too. On 60 + 60 PIAF dev questions
# (benchmarks/answer_losses.py, outputs re-verified): 1 → right 28, wrong 13, unanswerable refused
# 44; 2 → right 26, wrong 10, unanswerable refused 51.
MIN_QUESTION_TERMS = 2


# Words that frame an answer rather than assert content: a negation or a "selon" restates the source.
_FRAME_WORDS = frozenset(
    analyze("oui non aucun aucune jamais rien personne selon yes no not none never nothing according")
)


@dataclass(frozen=True)
class GroundedClaim:
    text: str
    sentences: tuple[int, ...]  # ids (Sentence.n) of the supporting sentences
    repaired: bool  # supported by other sentences than the model named


@dataclass
class GroundedVerification:
    claims: list[GroundedClaim] = field(default_factory=list)
    dropped: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Judge:
    """The rules, each switchable, so each one's effect can be measured (benchmarks/answers.py)."""

    details: bool = True
    content_words: bool = True
    aboutness: bool = True
    min_question_coverage: float = MIN_QUESTION_COVERAGE
    min_terms: int = MIN_QUESTION_TERMS
    unsupported_allowed: int = UNSUPPORTED_WORDS_ALLOWED
    answer_kind: bool = True
    says_something: bool = True


_MONTHS = (
    "janvier|fevrier|mars|avril|mai|juin|juillet|aout|septembre|octobre|novembre|decembre|january|february|"
    "march|april|may|june|july|august|september|october|november|december"
)
_ASKS = [
    ("number", re.compile(r"^\W*(combien|how (many|much))\b|\bquel(le)?s? (est |sont |etait )?(le |la |les )?"
                          r"(nombre|montant|prix|taux|age|population|superficie|hauteur|longueur|distance|"
                          r"pourcentage|part)\b")),
    ("date", re.compile(r"^\W*(quand|depuis quand|jusqu'a quand|when)\b|\b(en|a|de) quelle (annee|date|epoque)|"
                        r"\bquel(le)?s? (est |sont |etait )?(le |la |les )?(annee|date|jour|siecle|mois|epoque)\b|"
                        r"\b(what|which) (year|date|day)\b")),
    ("place", re.compile(r"^\W*(ou|where|d'ou)\b|\b(dans|de|en) quel(le)?s? (ville|pays|region|lieu|endroit|"
                         r"continent|departement|quartier)\b|\bin which (city|country|region|place)\b")),
]  # fmt: skip
_SAYS = {
    "number": re.compile(
        r"\d|\b(un|une|deux|trois|quatre|cinq|six|sept|huit|neuf|dix|onze|douze|quinze|vingt|trente|quarante|"
        r"cinquante|soixante|cent|cents|mille|million|millions|milliard|milliards|moitie|tiers|quart|dizaine|"
        r"dizaines|centaine|centaines|douzaine|aucun|aucune|plusieurs|one|two|three|four|five|six|seven|eight|"
        r"nine|ten|hundred|thousand|million|billion|half|dozen|none)\b"
    ),
    "date": re.compile(
        rf"\d|\b({_MONTHS}|lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|monday|tuesday|wednesday|"
        r"thursday|friday|saturday|sunday|hier|demain|aujourd|week-end|semaine|mois|annee|annees|an|ans|siecle|"
        r"siecles|epoque|debut|fin|milieu|printemps|ete|automne|hiver|yesterday|tomorrow|today|week|month|year|"
        r"years|century|early|late)\b"
    ),
    # On the casefolded text with its accents: "à" (at) is not "a" (has); "en" and "est" are too
    # often something else ("il en a", "il est") to count.
    "place": re.compile(
        r"\b(à|au|aux|dans|sur|sous|près|le long|chez|vers|entre|devant|derrière|nord|sud|ouest|centre|"
        r"ville|pays|région|at|in|on|near|along|inside|north|south|east|west)\b"
    ),
}


def _edit_distance_at_most_one(a: str, b: str) -> bool:
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) > len(b):
        a, b = b, a
    i = next((k for k in range(len(a)) if a[k] != b[k]), len(a))
    # one substitution, or one letter inserted in b
    return a[i + 1 :] == b[i + 1 :] if len(a) == len(b) else a[i:] == b[i + 1 :]


def names_in(name: str, folded: str) -> bool:
    """Whether the folded text mentions the (folded) name: inflected ("russe" ~ "russes"), or with one
    letter off when the name is long enough to stay unambiguous (users misspell names:
    "Exelsior" for "Excelsior")."""
    if re.search(rf"\b{re.escape(name[: max(4, len(name) - 2)])}", folded):
        return True
    return len(name) >= 6 and any(_edit_distance_at_most_one(name, w) for w in set(re.findall(r"\w+", folded)))


def first_kind(patterns: Sequence[tuple[str, re.Pattern[str]]], question: str) -> str | None:
    """The kind of the first pattern that matches the folded question."""
    q = fold(question).strip()
    return next((kind for kind, pattern in patterns if pattern.search(q)), None)


def asked_kind(question: str) -> str | None:
    """What the question asks for, when its form says it: a number, a date, a place."""
    return first_kind(_ASKS, question)


def says_kind(kind: str, claim: str) -> bool:
    """Whether the claim holds something of that kind; a place is a name (a capital past the first
    letter) or a spatial phrase ("le long de la ligne de front", "dans l'ouest")."""
    if kind == "place" and any(fold(w) not in GENERIC_CAPITALISED for w in re.findall(r"\b[A-ZÀ-ÖØ-Þ][\w-]+", claim)):
        return True
    return _SAYS[kind].search(claim.casefold() if kind == "place" else fold(claim)) is not None


def question_names(question: str) -> set[str]:
    """The capitalised words of the question past its first word: what it is about by name."""
    words = re.findall(r"[\w'’-]+", question)
    out = set()
    for w in words[1:]:
        # "Bordeaux-Toulouse" names two places, each of which must be there.
        for part in re.split(r"[-'’]", w):
            if part[:1].isupper() and fold(part) not in GENERIC_CAPITALISED and len(part) > 1:
                out.add(fold(part))
    return out


_DAY_MONTH = re.compile(rf"\b(\d{{1,2}})(?:er)?\s+({_MONTHS})\b")
_YEAR = re.compile(r"\b(1[0-9]{3}|20[0-9]{2})\b")


def _dates_in(folded: str) -> set[str]:
    """The days ("28 aout") and years of a folded text; "1 500 hommes" is a number, not a year."""
    text = numbers_text(folded)
    return {f"{int(d)} {m}" for d, m in _DAY_MONTH.findall(text)} | set(_YEAR.findall(text))


def question_dates(question: str) -> set[str]:
    """The days and years the question names: like its names, what it is about."""
    return _dates_in(fold(question))


@lru_cache(maxsize=4096)
def _terms(text: str) -> frozenset[str]:
    return frozenset(analyze(text))


def _date_words(iso: str) -> str:
    """'2025-12-18' -> '2025': the year, which a claim may take from its article's date (a day may not:
    "le 18 décembre" must be said by the sentence, not borrowed from the day it was published)."""
    return iso[:4] if iso[:4].isdigit() else ""


def _window(group: Sequence[Sentence], sentences: Sequence[Sentence]) -> str:
    ids = {s.n for s in group}
    for s in group:
        ids.update(x.n for x in neighbours(sentences, s))
    return " ".join(sentences[i - 1].text for i in sorted(ids))


def _about(group: Sequence[Sentence], sentences: Sequence[Sentence], shown: Sequence[Passage], question: str,
           judge: Judge) -> str | None:  # fmt: skip
    """Why the group is not about the question (None when it is)."""
    first = min(group, key=lambda s: s.n)
    before = [x for x in neighbours(sentences, first) if x.n < first.n]
    title = shown[first.passage].title
    context = " ".join([title, *(x.text for x in before), *(s.text for s in group)])
    # Names may stand two sentences back ("Witkoff et Kushner… Les deux… Ils ont rencontré Poutine").
    earlier = [x for b in before for x in neighbours(sentences, b) if x.n < b.n]
    folded = fold(" ".join([context, *(x.text for x in earlier)]))
    names = [n for n in question_names(question) if not names_in(n, folded)]
    # A date is as much the question's subject as a name: who lost on 28 August is not who lost on
    # 3 September. It may stand in the sentence after the cited one ("… 30 000 hommes. Le 30 juin, …").
    around = fold(" ".join([folded, _window(group, sentences), shown[first.passage].date[:4]]))
    names += sorted(question_dates(question) - _dates_in(around))
    if names:
        return f"the cited sentence does not mention {', '.join(sorted(names))}, which the question names"
    q_terms = about_terms(question)
    if q_terms:
        have = set(analyze(context))
        covered = sum(1 for t in q_terms if near(t, have))
        # A question that says what it wants (a place, a date, a number) has had the answer's kind
        # checked already: that is the second piece of evidence a bare "qui"/"que" question lacks.
        floor = 1 if judge.answer_kind and asked_kind(question) else min(len(q_terms), judge.min_terms)
        if covered < max(judge.min_question_coverage * len(q_terms), floor):
            return f"the cited sentence is not about the question ({covered} of its {len(q_terms)} terms)"
        # Each cited sentence on its own: the qualifier must be in that sentence itself ("russo-américains"
        # in a title, or "délégation russe" in the sentence before, does not make "une délégation
        # ukrainienne" the Russian one).
        for sent in group:
            mismatch = qualifier_mismatch(question, sent.text, set(analyze(sent.text)))
            if mismatch:
                return f"the cited sentence is about something else: {mismatch}"
        # The question's most specific term among the shown sentences (the one fewest of them hold)
        # picks its subject out of its siblings: "la médaille d'or en aviron" is not the one "en natation".
        counts = {t: sum(1 for x in sentences if near(t, _terms(x.text))) for t in q_terms}
        held = {t: c for t, c in counts.items() if c}
        if len(held) > 1:
            rarest = min(held.values())
            if rarest < len(sentences) and not any(near(t, have) for t, c in held.items() if c == rarest):
                missing = sorted(t for t, c in held.items() if c == rarest)
                return f"the cited sentence is not about the question's {', '.join(missing)}"
    return None


def check(claim: str, group: Sequence[Sentence], sentences: Sequence[Sentence], shown: Sequence[Passage],
          question: str, same_language: bool, judge: Judge) -> tuple[str | None, tuple[Sentence, ...]]:  # fmt: skip
    """Why `group` does not support `claim` as an answer to `question` (None when it does), and the
    sentences the citation must show: a neighbour that holds one of the claim's names or numbers is
    cited too, and is part of what must be about the question."""
    used = tuple(sorted(set(group), key=lambda x: x.n))
    if judge.details:
        # The article's date is shown with it: "les 14 et 15 décembre 2025" may take its year from there.
        dated = " ".join(x.text for x in used) + " " + _date_words(shown[used[0].passage].date)
        missing = missing_details(claim, dated)
        if missing:
            for nb in [n for s in used for n in neighbours(sentences, s)]:
                if nb in used:
                    continue
                still = missing_details(claim, " ".join(x.text for x in (*used, nb)) + " " + dated)
                if len(still) < len(missing):
                    used, missing = tuple(sorted({*used, nb}, key=lambda x: x.n)), still
            if missing:
                return f"detail(s) not in the cited sentences: {', '.join(missing)}", used
    if judge.answer_kind:
        kind = asked_kind(question)
        if kind is not None and not says_kind(kind, claim):
            return f"the question asks for a {kind} and the answer gives none", used
    window = _window(used, sentences)
    if judge.content_words and same_language:
        have = set(analyze(window)) | set(analyze(question))
        unsupported = [t for t in dict.fromkeys(analyze(claim)) if t not in _FRAME_WORDS and not near(t, have)]
        if len(unsupported) > judge.unsupported_allowed:
            return f"words not in the cited sentences: {', '.join(unsupported)}", used
    if judge.aboutness and same_language:
        return _about(used, sentences, shown, question, judge), used
    if judge.aboutness:
        # Across languages the question's terms cannot be compared; its names can.
        folded = fold(window + " " + shown[used[0].passage].title)
        names = [n for n in question_names(question) if n[:4] not in folded]
        if names:
            return f"the cited sentence does not mention {', '.join(sorted(names))}, which the question names", used
    return None, used


# A question word: what asks for something the question does not say. A yes/no question ("Le traité
# a-t-il été signé ?", "Est-ce que…") is answered by restating it, and a choice ("français ou belge ?")
# by one of its own words, so the rule below leaves them alone ("ou" is "or"; "où" needs its accent
# to count; "que" asks only at the start: "Que perd…", not "Est-ce que…").
_WH_WORD = re.compile(
    r"^\W*(que|qu['’])|\b(qui|quoi|quel|quelle|quels|quelles|lequel|laquelle|lesquels|lesquelles|où|quand|"
    r"comment|pourquoi|combien|who|whom|whose|what|which|where|when|why|how)\b"
)


def _only_repeats(claim: str, question: str) -> bool:
    """The claim says nothing the question does not ("sa maison" to "À quelle maison…"): no name or
    number of its own, no "oui"/"non", and every content word one the question already has."""
    q = question.casefold()
    if not _WH_WORD.search(q) or re.search(r"\bou\b|\bor\b", q):
        return False
    words = analyze(claim)
    if not words or any(t in _FRAME_WORDS for t in words):
        return False
    if missing_details(claim, question):
        return False
    asked = set(_terms(question))
    return all(near(t, asked) for t in words)


def _by_overlap(claim: str, sentences: Sequence[Sentence]) -> list[Sentence]:
    """Shown sentences that share the claim's names, numbers or content words, best first."""
    terms = set(analyze(claim))
    details = key_details(claim)
    scored = []
    for s in sentences:
        have = set(analyze(s.text))
        score = len(terms & have) + 2 * sum(1 for d in details if not missing_details(d, s.text))
        if score:
            scored.append((score, -s.n, s))
    scored.sort(key=lambda x: (x[0], x[1]), reverse=True)
    return [s for _, _, s in scored[:8]]


def _runs(cited: Sequence[Sentence]) -> list[tuple[Sentence, ...]]:
    """Runs of two or more consecutive sentences (same passage) among the cited ones."""
    ordered = sorted(set(cited), key=lambda s: s.n)
    runs: list[list[Sentence]] = []
    for s in ordered:
        if runs and runs[-1][-1].n == s.n - 1 and runs[-1][-1].passage == s.passage:
            runs[-1].append(s)
        else:
            runs.append([s])
    return [tuple(r) for r in runs if len(r) > 1]


def verify_answer(
    answer: str,
    ids: Sequence[int],
    sentences: Sequence[Sentence],
    shown: Sequence[Passage],
    question: str,
    same_language: bool = True,
    judge: Judge | None = None,
) -> GroundedVerification:
    judge = judge or Judge()
    result = GroundedVerification()
    cited = [sentences[i - 1] for i in dict.fromkeys(ids) if 1 <= i <= len(sentences)]
    claims = [c.strip() for c in split_sentences(answer.strip())] or [answer.strip()]
    for claim in claims:
        if not re.search(r"\w", claim):
            continue
        # Whatever sentence is cited, a claim in the question's own words answers nothing: judged once.
        if judge.says_something and _only_repeats(claim, question):
            result.dropped.append((claim, "the answer only repeats the question's words"))
            continue
        found: tuple[tuple[Sentence, ...], bool] | None = None
        reason = "it names no sentence"
        # Each cited sentence alone first (with its neighbours for names and numbers), then runs of
        # consecutive cited sentences of one article: sentences of different articles are not
        # pooled, or a name from one and the subject of another would pass together.
        groups: list[tuple[Sentence, ...]] = [(s,) for s in cited]
        groups += _runs(cited)
        for group in groups:
            why, used = check(claim, group, sentences, shown, question, same_language, judge)
            if why is None:
                found = (used, False)
                break
            reason = why
        if found is None:
            # A wrong id: the claim may stand in another shown sentence.
            for s in _by_overlap(claim, sentences):
                if s in cited:
                    continue
                why, used = check(claim, (s,), sentences, shown, question, same_language, judge)
                if why is None:
                    found = (used, True)
                    break
        if found is None:
            result.dropped.append((claim, reason))
            continue
        group, repaired = found
        text = claim
        if bare_or_contradicted(claim, " ".join(s.text for s in group)):
            # "Oui." says nothing checkable, and small models say "Oui" to a negated source:
            # the sentence itself is the honest answer.
            text = " ".join(" ".join(s.text.split()) for s in group)
        result.claims.append(GroundedClaim(text, tuple(s.n for s in group), repaired))
    return result
