"""The metrics on hand-made cases, French normalisation first."""

from __future__ import annotations

import pytest

from evals import metrics as m


@pytest.mark.parametrize(
    ("fact", "text"),
    [
        ("Ukraine", "Il s'agit de l'Ukraine."),
        ("l'Ukraine", "L’Ukraine et la Russie"),
        ("États-Unis", "les etats unis ont annoncé"),
        ("etats unis", "Les États-Unis ont annoncé"),
        ("14 et 15 décembre", "les 14-15 décembre"),
        ("14-15 décembre", "du 14 au 15 décembre"),
        ("Kirill Dmitriev", "KIRILL DMITRIEV [1]."),
        ("le gendre", "Jared Kushner, gendre du président"),
        ("cessez-le-feu", "un cessez le feu"),
        ("100 000", "environ 100 000 personnes"),
        ("cinq", "Son record est de 5 rebonds [1]."),
        ("2 soldats", "deux soldats ont été blessés"),
    ],
)
def test_french_normalisation_matches(fact: str, text: str) -> None:
    assert m.fact_in([fact], text)


@pytest.mark.parametrize(
    ("fact", "text"),
    [
        ("Ukraine", "les Ukrainiens"),  # a different word, not a form of the fact
        ("14 et 15 décembre", "le 14 décembre"),
        ("Dmitriev", "Dmitrieva"),
        ("non", "nonobstant"),
        ("15 décembre", "115 décembre"),
    ],
)
def test_near_misses_do_not_match(fact: str, text: str) -> None:
    assert not m.fact_in([fact], text)


def test_aliases_count() -> None:
    assert m.fact_in(["Kirill Dmitriev", "Dmitriev"], "Dmitriev [1].")


def test_citation_validity_needs_every_marker_resolved_and_exact_quotes() -> None:
    assert m.citation_validity("A [1]. B [2].", {1: ("x", "x"), 2: ("y", "y")})
    assert not m.citation_validity("A [1]. B [3].", {1: ("x", "x"), 2: ("y", "y")})
    assert not m.citation_validity("A [1].", {1: ("quote", "quota")})


def test_citation_support_checks_the_stated_facts_in_the_cited_quotes() -> None:
    facts = [["Kirill Dmitriev", "Dmitriev"]]
    assert m.citation_support(facts, "Dmitriev [1].", ["dirigée par Kirill Dmitriev."]) is True
    assert m.citation_support(facts, "Dmitriev [1].", ["dirigée par Rustem Umerov."]) is False
    assert m.citation_support(facts, "Je ne sais pas.", ["x"]) is None


def test_citation_coverage_counts_sentences_with_a_marker() -> None:
    assert m.citation_coverage("Kirill Dmitriev [1]. Il est directeur [2].") == 1.0
    assert m.citation_coverage("Kirill Dmitriev [1]. Il est directeur.") == 0.5
    assert m.citation_coverage("") is None


def test_language_of_answers() -> None:
    assert m.language_matches("La délégation russe est dirigée par Kirill Dmitriev [1].", "fr")
    assert not m.language_matches("The Russian delegation is led by Kirill Dmitriev [1].", "fr")
    assert m.language_matches("Kirill Dmitriev [1].", "en")  # a name has no language


def test_reciprocal_rank_and_percentiles() -> None:
    assert m.reciprocal_rank([{"a"}, {"b", "src"}], {"src"}) == 0.5
    assert m.reciprocal_rank([{"a"}], {"z"}) == 0.0
    assert m.percentile([3.0, 1.0, 2.0], 0.5) == 2.0
    assert m.mean([True, False, None]) == 0.5


def test_token_f1_gives_partial_credit_and_none_to_a_wrong_or_empty_answer() -> None:
    gold = ["c'est chaque année 1400 vies humaines"]
    assert m.token_f1(gold, "1400 vies humaines [1].") == pytest.approx(2 * 1 * (3 / 6) / (1 + 3 / 6))
    assert m.token_f1(["la Méditerranée ou la mer Noire"], "La Méditerranée et la mer Noire") > 0.7
    assert m.token_f1(["Guillaume Apollinaire"], "Pierre Albert-Birot [1].") == 0.0
    assert m.token_f1(["Kirill Dmitriev", "Dmitriev"], "Dmitriev [2]") == 1.0
    assert m.token_f1(["Dmitriev"], "") == 0.0
