"""The model is asked only when a shown sentence could answer: otherwise an honest refusal, at once.

A scripted chat model stands in for the LLM: these tests check what it is sent and whether it is
called, not what it writes (the real model's answers are in test_answer_e2e.py).
"""

from __future__ import annotations

import json
from pathlib import Path

from index.ingest import Ingestor
from index.readers import ReadOptions, build_article
from index.store import Store
from rag.answers.answer import Answerer
from rag.answers.extractive import best_sentences
from rag.generation.llm import ChatLLM
from tests.conftest import SampleStore
from tests.helpers import RecordingModel, make_settings


def _answerer(store: Store, gate: bool) -> tuple[Answerer, RecordingModel]:
    model = RecordingModel(responses=[json.dumps({"ids": [], "answer": ""})])
    llm = ChatLLM(model, backend="openai", json_mode="none", serialise=False)
    settings = store.settings.model_copy(update={"answer_gate": gate})
    return Answerer(store, settings, llm=llm), model


def test_when_no_shown_sentence_answers_the_model_is_not_asked(sample_store: SampleStore) -> None:
    # Sentences about Witkoff are shown, but none gives a number of kilometres.
    question = "Combien de kilomètres Steve Witkoff a-t-il parcourus ?"
    gated, model = _answerer(sample_store.store, True)
    ans = gated.answer(question)
    assert ans.refused and ans.llm_calls == 0 and model.sent == []
    assert "holds what it asks" in ans.refusal_reason
    assert ans.sentences  # there were sentences to read: the gate, not retrieval, refused
    # Without the gate, the same question reaches the model.
    open_, open_model = _answerer(sample_store.store, False)
    open_.answer(question)
    assert len(open_model.sent) == 1


def test_a_question_a_shown_sentence_answers_reaches_the_model(sample_store: SampleStore) -> None:
    gated, model = _answerer(sample_store.store, True)
    gated.answer("Qui dirige la délégation russe ?")
    assert len(model.sent) == 1
    assert "Dmitriev" in str(model.sent[0][-1].content)


def test_a_question_in_another_language_than_the_sources_is_not_gated(sample_store: SampleStore) -> None:
    # No French sentence shares a term with an English question: lexical checks cannot judge it.
    gated, model = _answerer(sample_store.store, True)
    ans = gated.answer("Who heads the Russian delegation?")
    assert ans.lang == "en" and len(model.sent) == 1


def test_a_sentence_about_the_question_only_through_the_one_before_does_not_open_the_gate(tmp_path: Path) -> None:
    # Sentence 2 holds a number and shares a term with the question, but the question's other terms
    # stand only in sentence 1 (which has no number): no sentence could be quoted as the answer by
    # itself, so the model is not asked. Without that rule sentence 2 would have opened the gate.
    store = Store(make_settings(tmp_path))
    text = (
        "Les filles du roi reçoivent la dot du roi à leur arrivée, selon les archives. "
        "L'année 2013 marque le 350e anniversaire de l'arrivée des protégées du roi, fêtée au Québec."
    )
    article = build_article({"id": "dot", "title": "La Nouvelle-France", "text": text}, "dot", ReadOptions())
    Ingestor(store).ingest([article])
    gated, model = _answerer(store, True)
    ans = gated.answer("Combien valait la dot des filles du roi en Nouvelle-France ?")
    assert ans.refused and ans.llm_calls == 0 and model.sent == [] and len(ans.sentences) == 2
    assert [p.sentence.n for p in best_sentences(ans.standalone_question, ans.sentences, ans.passages)] == [2]
    # A question the second sentence carries itself does reach the model.
    gated.answer("En quelle année marque-t-on le 350e anniversaire de l'arrivée des protégées du roi ?")
    assert len(model.sent) == 1
