"""The LLM-judge tier's control flow with a scripted model: verdicts parsed, junk is no verdict."""

from __future__ import annotations

from langchain_core.language_models.fake_chat_models import FakeListChatModel

from evals.gold import Fact, QAItem
from evals.judge import LLMJudge
from rag.answers.answer import Answer
from rag.generation.llm import ChatLLM

ITEM = QAItem(id="q", question="Qui dirige la délégation russe ?", gold_facts=[Fact(text="Kirill Dmitriev")])


def _judge(reply: str) -> LLMJudge:
    return LLMJudge(ChatLLM(FakeListChatModel(responses=[reply]), backend="openai", json_mode="none", serialise=False))


def test_verdicts_are_parsed_and_junk_is_no_verdict() -> None:
    answer = Answer(ITEM.question, "Kirill Dmitriev [1].", [], False, "fr")
    assert _judge('{"correct": true}')(ITEM, answer) is True
    assert _judge('{"correct": false}')(ITEM, answer) is False
    assert _judge("je pense que oui")(ITEM, answer) is None


def test_a_refusal_is_never_judged_correct() -> None:
    refusal = Answer(ITEM.question, "Les sources ne le disent pas.", [], True, "fr")
    assert _judge('{"correct": true}')(ITEM, refusal) is False
