"""Optional LLM-judge tier: does the answer state the gold facts? Reported, never gating.

It uses the configured LLM, which on the embedded default is a 1.5B model: a
second opinion on paraphrases the deterministic matcher misses, not a ground truth.
"""

from __future__ import annotations

from langchain_core.messages import HumanMessage, SystemMessage

from evals.gold import QAItem
from rag.answers.answer import Answer
from rag.answers.drafts import load_json_lenient
from rag.generation import prompts
from rag.generation.llm import ChatLLM

_SCHEMA = {"type": "object", "properties": {"correct": {"type": "boolean"}}, "required": ["correct"]}


class LLMJudge:
    def __init__(self, llm: ChatLLM) -> None:
        self.llm = llm

    def __call__(self, item: QAItem, answer: Answer) -> bool | None:
        if answer.refused:
            return False
        facts = " ; ".join(f.text for f in item.gold_facts)
        messages = [
            SystemMessage(prompts.render("judge", item.lang)),
            HumanMessage(
                prompts.render("judge_user", item.lang, question=item.question, facts=facts, answer=answer.text)
            ),
        ]
        data = load_json_lenient("".join(self.llm.stream(messages, schema=_SCHEMA, max_tokens=16)))
        verdict = data.get("correct") if isinstance(data, dict) else None
        return verdict if isinstance(verdict, bool) else None
