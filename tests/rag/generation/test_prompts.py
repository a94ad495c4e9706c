"""What the model is sent: prompt files rendered, never raw templates."""

from __future__ import annotations

import json
from typing import Any

from langchain_core.language_models.fake_chat_models import FakeListChatModel

from index.store import Filters
from rag.answers.answer import Answerer
from rag.briefings.digests import Digester
from rag.generation import prompts
from rag.generation.llm import ChatLLM
from tests.conftest import SampleStore
from tests.helpers import RecordingModel


def test_every_template_renders_without_leftover_placeholders() -> None:
    for path in prompts.PROMPTS_DIR.glob("*.txt"):
        name, lang, _ = path.name.split(".")
        text = prompts.render(
            name, lang, question="Q", passages="P", sources="S", history="H", units="U", n="2", facts="F", answer="A"
        )
        assert "{{" not in text and "}}" not in text and "{question}" not in text, path.name


def test_answers_and_digests_send_rendered_prompts(sample_store: SampleStore, tmp_path: Any) -> None:
    reply = json.dumps({"ids": [], "answer": "", "titre": "t", "points": ["a", "b", "c"]})
    model = RecordingModel(responses=[reply])
    llm = ChatLLM(model, backend="openai", json_mode="none", serialise=False)
    Answerer(sample_store.store, llm=llm).answer("Qui dirige la délégation russe ?")
    settings = sample_store.settings.model_copy(update={"data_dir": tmp_path})
    Digester(sample_store.store, settings, llm=llm).summarize(sample_store.store.articles(Filters())[0].id)
    assert len(model.sent) == 2
    for messages in model.sent:
        for m in messages:
            assert "{{" not in str(m.content) and "}}" not in str(m.content)
    system = str(model.sent[0][0].content)
    assert '{"ids": [<numéros>], "answer"' in system


def test_a_follow_up_rewrite_that_invents_a_number_or_asks_another_thing_is_not_used(sample_store: SampleStore) -> None:
    from rag.answers.answer import Turn
    from rag.generation.llm import Usage

    history = [
        Turn("user", "Qui représente les États-Unis aux pourparlers ?"),
        Turn("assistant", "Steve Witkoff et Jared Kushner [1]."),
    ]
    question = "Et où se sont-ils rendus début décembre ?"
    invented = "Où Steve Witkoff et Jared Kushner se sont-ils rendus en décembre 2020 ?"
    other_question = "Quels sont les lieux de travail de Steve Witkoff et Jared Kushner début décembre ?"
    faithful = "Où Steve Witkoff et Jared Kushner se sont-ils rendus début décembre ?"
    for rewrite, expected in [(invented, question), (other_question, question), (faithful, faithful)]:
        llm = ChatLLM(FakeListChatModel(responses=[rewrite]), backend="openai", json_mode="none", serialise=False)
        answerer = Answerer(sample_store.store, llm=llm)
        assert answerer.condense(question, history, "fr", Usage()) == expected


def test_only_a_follow_up_that_points_back_is_rewritten(sample_store: SampleStore) -> None:
    from rag.answers.answer import Turn

    history = [Turn("user", "Qui dirige la délégation russe ?"), Turn("assistant", "Kirill Dmitriev [1].")]
    reply = json.dumps({"ids": [], "answer": ""})
    rewrite = "Qui dirige la délégation ukrainienne ?"
    cases = [
        ("auto", "Qui dirige la délégation ukrainienne ?", 1),  # complete: asked as it is
        ("auto", "Et la délégation ukrainienne ?", 2),  # an ellipsis: rewritten first
        ("always", "Qui dirige la délégation ukrainienne ?", 2),
    ]
    for mode, question, calls in cases:
        model = RecordingModel(responses=[rewrite, reply] if calls == 2 else [reply])
        llm = ChatLLM(model, backend="openai", json_mode="none", serialise=False)
        settings = sample_store.settings.model_copy(update={"condense": mode})
        ans = Answerer(sample_store.store, settings, llm=llm).answer(question, history=history)
        assert len(model.sent) == calls and ans.llm_calls == calls, (mode, question)
        assert ans.standalone_question == rewrite
