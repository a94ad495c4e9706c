from __future__ import annotations

from rag.briefings.disagreements import find_disagreements, mentions
from tests.helpers import record, sample_records


def test_seed_outlets_describe_kushner_and_umerov_differently() -> None:
    axios, politico = sample_records()
    found = {d.subject: d for d in find_disagreements([axios, politico])}
    kushner = {v.article.source: v.descriptor for v in found["Jared Kushner"].versions}
    assert kushner == {
        "exemple-relais-axios": "gendre du président américain",
        "exemple-relais-politico": "gendre de l'ancien président américain",
    }
    umerov = {v.article.source: v.descriptor for v in found["Rustem Umerov"].versions}
    assert umerov["exemple-relais-axios"] == "secrétaire du Conseil de sécurité nationale et de défense"
    assert umerov["exemple-relais-politico"] == "conseiller à la sécurité nationale"


def test_each_version_quotes_its_article_exactly() -> None:
    for d in find_disagreements(sample_records()):
        for m in d.versions:
            assert m.text == m.article.text[m.start : m.end]
            assert m.descriptor.split()[0] in m.text and d.subject.split()[-1] in m.text


def test_same_description_is_not_a_disagreement() -> None:
    a = record("a", "Le ministre a parlé. Marie Dupont, ministre de la Santé, a annoncé un plan.", "x")
    b = record("b", "Hier soir, Marie Dupont, ministre de la Santé, a présenté son plan.", "y")
    assert find_disagreements([a, b]) == []
    c = record("c", "Hier soir, Marie Dupont, ministre des Sports, a présenté son plan.", "z")
    assert [d.subject for d in find_disagreements([a, c])] == ["Marie Dupont"]


def test_sentence_openers_are_not_people() -> None:
    text = "Selon Politico, la réunion aura lieu. Les États-Unis, pays hôte, accueilleront les délégations."
    assert [m.name for m in mentions(record("a", text))] == []
