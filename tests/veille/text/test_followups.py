"""Which questions in a conversation point back at it (and get the rewrite model call)."""

from __future__ import annotations

import pytest

from veille.text.followups import needs_context

POINTS_BACK_FR = [
    "Et la délégation ukrainienne ?",  # a leading "et": an ellipsis
    "Et où se sont-ils rendus début décembre ?",
    "Quel âge a-t-il ?",  # "âge" is the object of "quel", not a subject for "il"
    "Qu'a-t-il dit ?",
    "En quelle année a-t-il été signé ?",
    "Combien de buts a-t-il marqués ?",
    "pourquoi est il parti",  # the inversion typed without hyphens
    "Où est-ce qu'il est allé ?",
    "Quel est son rôle ?",
    "Qui lui a succédé ?",
    "Qui y participe ?",
    "Où se tient cette réunion ?",
    "Quand ce dernier a-t-il démissionné ?",
    "Qu'en est-il de la Russie ?",
    "Qui d'autre participe aux pourparlers ?",
    "Quelles autres villes sont citées ?",
    "Qui était là ?",
    "Pourquoi ?",  # no content word at all
    "Qui est l'architecte ?",  # one, and not a name
    "Combien ça coûte ?",
    "Quels pays l'ont signé ?",  # an object pronoun before its verb
    "Le gouvernement le confirme-t-il ?",
    "Peux-tu en dire plus ?",
    "Pourquoi une telle décision ?",
    "L'autre candidat a-t-il réagi ?",
    "Côté ukrainien ?",
    "Qu'a fait Zelensky ensuite ?",
]
STANDS_ALONE_FR = [
    "Qui dirige la délégation ukrainienne ?",
    "Quand le traité a-t-il été signé ?",  # "il" repeats "le traité"
    "En quelle année le traité a-t-il été signé ?",
    "Combien Françoise gagnait-elle ?",
    "Stablinski était il sportif ?",
    "Combien de soldats ukrainiens y a-t-il ?",  # impersonal "y a-t-il"
    "Y a-t-il une réunion trilatérale prévue ?",
    "De quoi s'agit-il dans l'accord de Minsk ?",
    "Où Gesualdo chercha-t-il une épouse pour son fils ?",  # "son" has "Gesualdo" before it
    "Combien de soldats ukrainiens ont été tués en décembre ?",
    "Où est l'Ouganda ?",  # one content word, but a name
    "Ou est situé Lyon ?",  # "ou" typed for "où" is not "or"
]


@pytest.mark.parametrize("question", POINTS_BACK_FR)
def test_french_questions_that_point_back(question: str) -> None:
    assert needs_context(question, "fr")


@pytest.mark.parametrize("question", STANDS_ALONE_FR)
def test_french_questions_that_stand_alone(question: str) -> None:
    assert not needs_context(question, "fr")


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("And the Ukrainian delegation?", True),
        ("Where did they go?", True),
        ("What is his role?", True),
        ("Who else attends the talks?", True),
        ("What happened next?", True),
        ("How much does that cost?", True),
        ("Why?", True),
        ("Who leads the Russian delegation?", False),
        ("When was the Minsk agreement signed?", False),
    ],
)
def test_english_questions(question: str, expected: bool) -> None:
    assert needs_context(question, "en") is expected


@pytest.mark.parametrize(
    ("follow_up", "rewrite", "expected"),
    [
        ("Et la délégation ukrainienne ?", "Qui dirige la délégation ukrainienne ?", True),
        ("Et où se sont-ils rendus ?", "Où Steve Witkoff et Jared Kushner se sont-ils rendus ?", True),
        # "where" became "what": another question
        ("Et où se sont-ils rendus ?", "Quels sont les lieux de travail de Steve Witkoff ?", False),
        # the follow-up's own subject dropped for the conversation's
        ("Combien compte-t-on d'îles grecques ?", "Combien de bateaux sont bloqués à Marseille ?", False),
        ("Ou est situé Lyon ?", "Quel est le lieu de Lyon ?", False),
        # words that only point back may go, a word may change its form or spelling
        ("Et ensuite ?", "Que s'est-il passé après la réunion de Miami ?", True),
        ("Et côté russe ?", "Quelle est la position de la Russie ?", True),
        ("pourquoi il a démisionné", "Pourquoi Jean Dupont a-t-il démissionné ?", True),
        ("And where did they go?", "Where did Witkoff and Kushner go?", True),
    ],
)
def test_a_rewrite_keeps_what_the_follow_up_asks(follow_up: str, rewrite: str, expected: bool) -> None:
    from veille.text.followups import faithful_rewrite

    lang = "en" if follow_up.startswith("And") else "fr"
    assert faithful_rewrite(follow_up, rewrite, lang) is expected
