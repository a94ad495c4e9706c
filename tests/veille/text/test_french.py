"""The French analyzer of the lexical index: folding, elisions, stopwords, stemming."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest

from index.catalog import Catalog
from index.chunking import chunk_article
from index.models import Article
from index.writers import lease
from veille.text.french import analyze, fold


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("l'Ukraine", "Ukraine"),
        ("l’Ukraine", "ukraine"),
        ("L'UKRAINE", "Ukraine"),
        ("d'Axios", "Axios"),
        ("jusqu'à Miami", "Miami"),
        ("qu'elle parte", "parte"),
        ("États-Unis", "etats unis"),
        ("ÉTATS-UNIS", "États Unis"),
        ("Délégation", "delegation"),
        ("délégations", "DÉLÉGATION"),
        ("L’État", "etat"),
        ("Noël", "noel"),
        ("œuvre", "oeuvre"),
        ("la délégation de la Russie", "délégation Russie"),
    ],
)
def test_equivalent_forms_give_the_same_terms(a: str, b: str) -> None:
    assert analyze(a) == analyze(b)
    assert analyze(a), "each form must keep at least one term"


def test_inflections_match_with_accents() -> None:
    # Snowball's French rules read the accents: "dirigée" is "dirige" + feminine ending.
    assert analyze("dirigée") == analyze("dirige") == analyze("dirigé") == analyze("diriger")
    assert analyze("sécurité") == analyze("Sécurités")


def test_decomposed_accents_are_the_same_word() -> None:
    text = "La délégation des États-Unis"
    assert analyze(unicodedata.normalize("NFD", text)) == analyze(text) == ["deleg", "etat", "unis"]


@pytest.mark.parametrize(
    ("accented", "typed"), [("sécurité", "securite"), ("arrivée", "arrivee"), ("négociées", "negociees")]
)
def test_indexed_texts_also_match_queries_typed_without_accents(accented: str, typed: str) -> None:
    indexed = set(analyze(accented, variants=True))
    assert set(analyze(typed)) <= indexed
    assert set(analyze(accented)) <= indexed
    assert analyze(typed, variants=True) == analyze(typed), "no variant for a word without accents"


def test_fold_lowercases_strips_accents_and_elisions() -> None:
    assert fold("L’État").split() == ["etat"]
    assert fold("Côte d'Ivoire").split() == ["cote", "ivoire"]
    assert fold("Œuvre") == "oeuvre"


def test_elision_needs_a_word_start() -> None:
    # "aujourd'hui" is one word, not "aujour" + elided "d'".
    assert analyze("aujourd'hui") == ["aujourd", "hui"]


def test_stopwords_and_single_letters_are_dropped() -> None:
    assert analyze("le la les de des du et qui que dans pour sur avec") == []
    assert analyze("y a-t-il") == []
    terms = analyze("Qui dirige la délégation russe ?")
    assert terms == ["dirig", "deleg", "russ"]


def test_numbers_are_kept_as_they_are() -> None:
    assert analyze("les 14 et 15 décembre 2025") == ["14", "15", "decembr", "2025"]


def test_stemming_groups_inflections() -> None:
    assert analyze("négociations") == analyze("négociation")
    assert analyze("russes") == analyze("russe")


def test_lexical_search_matches_across_accents_case_and_elisions(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path / "c.sqlite3")
    try:
        articles = [
            Article(id="ukr", text="Les représentants de l'Ukraine rencontrent les États-Unis à Miami.", title="Kiev"),
            Article(id="vin", text="Les vignerons de Bourgogne commencent les vendanges.", title="Vendanges"),
            Article(id="sec", text="La sécurité de la délégation a été renforcée à son arrivée.", title=""),
        ]
        chunks = [c for a in articles for c in chunk_article(a)]
        with lease() as writer:
            assert catalog.claim(articles, writer, stale_after_s=60) == {a.id for a in articles}
            catalog.complete(articles, chunks, writer, None)

        def hits(query: str) -> list[str]:
            return [h.chunk_id for h in catalog.search(query, 10)]

        assert hits("ukraine") == ["ukr:0"]
        assert hits("UKRAINE") == ["ukr:0"]
        assert hits("etats unis") == ["ukr:0"]
        assert hits("représentant") == ["ukr:0"]
        assert hits("representants") == ["ukr:0"]
        assert hits("Vendange bourguignonne") == ["vin:0"]
        assert hits("le la les de") == [], "a query of stopwords only matches nothing"
        assert hits("kiev") == ["ukr:0"], "the title is indexed with the chunk"
        assert hits("securite renforcee") == ["sec:0"], "a query typed without accents"
        assert hits("SÉCURITÉ") == ["sec:0"]
        assert hits(unicodedata.normalize("NFD", "arrivée")) == ["sec:0"]
    finally:
        catalog.close()
