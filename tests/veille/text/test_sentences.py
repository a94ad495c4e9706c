"""French sentence boundaries: titles, initials, dates, headlines, exact spans."""

from __future__ import annotations

import pytest

from tests.helpers import sample_articles
from veille.text.sentences import sentence_spans, split_sentences


def _assert_exact_spans(text: str) -> None:
    spans = sentence_spans(text)
    assert spans, "no sentence found"
    assert split_sentences(text) == [text[s:e] for s, e in spans]
    previous_end = 0
    for s, e in spans:
        assert previous_end <= s < e <= len(text)
        assert text[s:e] == text[s:e].strip(), "a span must not start or end with whitespace"
        assert not text[previous_end:s].strip(), f"text lost between sentences: {text[previous_end:s]!r}"
        previous_end = e
    assert not text[previous_end:].strip(), "text lost after the last sentence"


@pytest.mark.parametrize(
    ("title_and_name", "expected_first"),
    [
        ("M. Dmitriev", "Hier, M. Dmitriev a rencontré la délégation américaine."),
        ("Mme Dupont", "Hier, Mme Dupont a rencontré la délégation américaine."),
        ("Mme. Dupont", "Hier, Mme. Dupont a rencontré la délégation américaine."),
        ("Mmes Dupont et Durand", "Hier, Mmes Dupont et Durand a rencontré la délégation américaine."),
        ("Mlle Martin", "Hier, Mlle Martin a rencontré la délégation américaine."),
        ("MM. Witkoff et Kushner", "Hier, MM. Witkoff et Kushner a rencontré la délégation américaine."),
        ("Dr. Martin", "Hier, Dr. Martin a rencontré la délégation américaine."),
    ],
)
def test_civil_titles_do_not_end_a_sentence(title_and_name: str, expected_first: str) -> None:
    text = f"Hier, {title_and_name} a rencontré la délégation américaine. Elle repart demain."
    assert split_sentences(text) == [expected_first, "Elle repart demain."]


@pytest.mark.parametrize(
    "text",
    [
        "Le gendre du président, J. Kushner, était présent. Il a parlé.",
        "Le conseiller J. Kushner a parlé. Il repart.",
        "Selon Kirill A. Dmitriev, rien n'est décidé. Les contacts continuent.",
    ],
)
def test_initials_do_not_end_a_sentence(text: str) -> None:
    sentences = split_sentences(text)
    assert len(sentences) == 2, sentences
    assert "Kushner" in sentences[0] or "Dmitriev" in sentences[0]


def test_title_at_the_start_of_a_sentence_after_a_real_end() -> None:
    text = "La délégation est arrivée. M. Dmitriev a pris la parole. Mme Dupont a répondu."
    assert split_sentences(text) == [
        "La délégation est arrivée.",
        "M. Dmitriev a pris la parole.",
        "Mme Dupont a répondu.",
    ]


def test_a_date_inside_a_sentence_is_not_cut() -> None:
    text = "Lors des négociations à Berlin les 14 et 15 décembre, la partie américaine a confirmé sa volonté."
    assert split_sentences(text) == [text]


def test_a_sentence_ending_with_the_month_is_split_before_a_capital() -> None:
    text = "Les négociations ont eu lieu à Berlin les 14 et 15 décembre. La partie américaine a confirmé sa volonté."
    assert split_sentences(text) == [
        "Les négociations ont eu lieu à Berlin les 14 et 15 décembre.",
        "La partie américaine a confirmé sa volonté.",
    ]


def test_a_lowercase_word_after_a_period_does_not_start_a_sentence() -> None:
    text = "Les entretiens des 14 et 15 décembre. à Berlin, ont été constructifs."
    assert split_sentences(text) == [text]


def test_question_exclamation_and_ellipsis_end_sentences() -> None:
    text = "Qui dirige la délégation ? Kirill Dmitriev ! Et ensuite… Rien n'est prévu."
    assert split_sentences(text) == [
        "Qui dirige la délégation ?",
        "Kirill Dmitriev !",
        "Et ensuite…",
        "Rien n'est prévu.",
    ]


def test_closing_quotes_stay_with_their_sentence() -> None:
    # French typography puts a space before the closing guillemet.
    text = 'Il a dit « nous partirons. » Puis il est parti. « Demain ? » Oui. Elle a dit "non." Fin.'
    assert split_sentences(text) == [
        "Il a dit « nous partirons. »",
        "Puis il est parti.",
        "« Demain ? »",
        "Oui.",
        'Elle a dit "non."',
        "Fin.",
    ]


def test_a_closing_guillemet_inside_a_sentence_does_not_end_it() -> None:
    text = "Il dit : « Non. » et repart vers Miami. Fin."
    assert split_sentences(text) == ["Il dit : « Non. » et repart vers Miami.", "Fin."]


def test_headlines_on_their_own_line_are_sentences() -> None:
    text = (
        "Les négociations sont prévues à Miami\n"
        "À la fin de la semaine, les représentants tiendront des réunions. Ils repartiront ensuite.\n"
        "Sécurité — oui, détails — plus tard\n"
        "Lors des négociations à Berlin, rien n'a été signé."
    )
    assert split_sentences(text) == [
        "Les négociations sont prévues à Miami",
        "À la fin de la semaine, les représentants tiendront des réunions.",
        "Ils repartiront ensuite.",
        "Sécurité — oui, détails — plus tard",
        "Lors des négociations à Berlin, rien n'a été signé.",
    ]


def test_sample_articles_split_as_a_reader_expects() -> None:
    first = next(a for a in sample_articles() if "Umerov attendue" in a.title)
    sentences = split_sentences(first.text)
    assert "Les négociations sont prévues à Miami" in sentences
    assert "Le facteur russe à proximité, mais séparé" in sentences
    assert (
        "Selon la publication, elle sera dirigée par le représentant spécial du président russe Kirill Dmitriev."
        in sentences
    )
    assert any(s.startswith("Lors des négociations à Berlin les 14 et 15 décembre, la partie") for s in sentences)


@pytest.mark.parametrize(
    "text",
    [
        "  Titre\n\n  M. Dupont parle.   Mme Durand répond !\n\n\nFin sans point  ",
        "Une phrase.\tUne autre. « Citée. » (Entre parenthèses.) Dernière…",
        "Sans aucune ponctuation finale",
        "Ligne un\nLigne deux\n\nLigne trois. Et quatre.",
    ],
)
def test_spans_reproduce_the_text_exactly(text: str) -> None:
    _assert_exact_spans(text)


def test_sample_article_spans_reproduce_the_text_exactly() -> None:
    for article in sample_articles():
        _assert_exact_spans(article.text)


def test_empty_and_blank_text_have_no_sentence() -> None:
    assert sentence_spans("") == []
    assert sentence_spans(" \n\t\n ") == []
