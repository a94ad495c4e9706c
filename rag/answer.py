"""Grounded answers: retrieve → prompt → LLM → parse → verify → cited answer (or an honest refusal)."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from index.language import detect_language
from index.store import Filters, Store
from index.tokens import count_tokens
from rag import prompts
from rag.context import render_passage, select_context
from rag.drafts import answer_schema, parse_draft, partial_answer_text
from rag.llm import ChatLLM, Usage, get_llm
from rag.matching import normalise
from rag.retrieval import HybridRetriever, Passage, QueryError
from rag.verify import SupportedClaim, Verification, verify
from veille.settings import Settings


@dataclass(frozen=True)
class Citation:
    n: int  # the [n] in the answer text
    article_id: str
    chunk_id: str
    title: str
    source: str
    date: str
    url: str
    quote: str  # the exact words of the article that support the claim
    start: int  # offsets of `quote` in the article's text
    end: int


@dataclass(frozen=True)
class Turn:
    role: Literal["user", "assistant"]
    content: str


@dataclass
class Answer:
    question: str
    text: str
    citations: list[Citation]
    refused: bool
    lang: str
    refusal_reason: str = ""
    standalone_question: str = ""
    passages: list[Passage] = field(default_factory=list)  # what was shown, or the closest ones on refusal
    dropped_claims: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    llm_calls: int = 0


@dataclass(frozen=True)
class AnswerEvent:
    kind: Literal["retrieved", "token", "answer", "final"]
    token: str = ""  # raw model delta ("token")
    text: str = ""  # the readable answer so far ("answer")
    passages: tuple[Passage, ...] = ()
    answer: Answer | None = None


def _same_claim(a: str, b: str) -> bool:
    x, y = normalise(a).text.rstrip(". "), normalise(b).text.rstrip(". ")
    return x == y or (min(len(x), len(y)) > 10 and (x in y or y in x))


def render_answer(shown: Sequence[Passage], verified: Verification) -> tuple[str, list[Citation]]:
    """Text with [n] markers numbered by first use, and the citations they resolve to."""
    numbers: dict[tuple[int, int, int], int] = {}
    citations: list[Citation] = []
    groups: list[tuple[str, list[SupportedClaim]]] = []
    for c in verified.claims:
        for i, (text, members) in enumerate(groups):
            if _same_claim(text, c.text):
                groups[i] = (text, [*members, c])
                break
        else:
            groups.append((c.text, [c]))
    sentences = []
    for text, members in groups:
        marks = []
        for c in members:
            key = (c.passage, c.quote_start, c.quote_end)
            if key not in numbers:
                p = shown[c.passage]
                numbers[key] = len(citations) + 1
                citations.append(
                    Citation(
                        n=numbers[key],
                        article_id=p.article_id,
                        chunk_id=p.chunk_id,
                        title=p.title,
                        source=p.source,
                        date=p.date,
                        url=p.url,
                        quote=p.text[c.quote_start : c.quote_end],
                        start=p.start + c.quote_start,
                        end=p.start + c.quote_end,
                    )
                )
            marks.append(f"[{numbers[key]}]")
        body = text.rstrip()
        end = ""
        if body and body[-1] in ".!?":
            body, end = body[:-1].rstrip(), body[-1]
        sentences.append(f"{body} {''.join(dict.fromkeys(marks))}{end or '.'}")
    return " ".join(sentences), citations


class Answerer:
    def __init__(self, store: Store, settings: Settings | None = None, llm: ChatLLM | None = None) -> None:
        self.store = store
        self.settings = settings or store.settings
        self.retriever = HybridRetriever(store, self.settings)
        self._llm = llm

    @property
    def llm(self) -> ChatLLM:
        if self._llm is None:
            self._llm = get_llm(self.settings)
        return self._llm

    def _validate(self, question: str) -> str:
        question = " ".join(question.split())
        if not question:
            raise QueryError("the question is empty; ask something about the articles")
        n = count_tokens(question)
        if n > self.settings.max_question_tokens:
            raise QueryError(
                f"the question is {n} tokens long, over the limit of {self.settings.max_question_tokens}; "
                "shorten it (or raise VEILLE_MAX_QUESTION_TOKENS)"
            )
        return question

    def condense(self, question: str, history: Sequence[Turn], lang: str, usage: Usage) -> str:
        """Rewrite a follow-up into a stand-alone question using the conversation."""
        lines = []
        for turn in list(history)[-6:]:
            who = ("Utilisateur" if lang == "fr" else "User") if turn.role == "user" else "Assistant"
            content = " ".join(turn.content.split())[:600]
            lines.append(f"{who} : {content}" if lang == "fr" else f"{who}: {content}")
        prompt = prompts.render("condense", lang, history="\n".join(lines), question=question)
        text = "".join(self.llm.stream([HumanMessage(prompt)], max_tokens=60, usage=usage))
        rewritten = text.strip().split("\n")[0].strip().strip('"«» ')
        # A rewrite that lost the question (empty, or an answer instead) is worse than none.
        return rewritten if 3 <= len(rewritten) <= 400 else question

    def stream(
        self,
        question: str,
        history: Sequence[Turn] = (),
        filters: Filters | None = None,
        k: int | None = None,
    ) -> Iterator[AnswerEvent]:
        s = self.settings
        t0 = time.perf_counter()
        question = self._validate(question)
        lang = detect_language(question)
        timings: dict[str, float] = {}
        llm_calls = 0
        standalone = question
        if history:
            usage = Usage()
            standalone = self.condense(question, history, lang, usage)
            llm_calls += 1
            timings["condense_s"] = usage.total_s
        t1 = time.perf_counter()
        candidates = self.retriever.retrieve(standalone, k=max(k or s.answer_passages, 1), filters=filters)
        timings["retrieve_s"] = time.perf_counter() - t1
        shown = select_context(candidates, standalone, k or s.answer_passages, s.context_tokens, s.passage_tokens)
        yield AnswerEvent("retrieved", passages=tuple(shown))

        def refusal(
            reason: str,
            passages: Sequence[Passage],
            dropped_claims: Sequence[str] = (),
            prompt_tokens: int | None = None,
            completion_tokens: int | None = None,
        ) -> Answer:
            timings["total_s"] = time.perf_counter() - t0
            return Answer(
                question=question,
                text=prompts.load("refusal", lang),
                citations=[],
                refused=True,
                lang=lang,
                refusal_reason=reason,
                standalone_question=standalone,
                passages=list(passages),
                timings=timings,
                llm_calls=llm_calls,
                dropped_claims=list(dropped_claims),
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
            )

        if not shown:
            yield AnswerEvent("final", answer=refusal("no passage matches the question and filters", []))
            return
        lexical_match = any(p.lexical_rank is not None for p in candidates)
        best_dense = max((p.dense_score for p in candidates if p.dense_score is not None), default=-1.0)
        if not lexical_match and best_dense < s.min_dense_score:
            yield AnswerEvent("final", answer=refusal("no passage is close enough to the question", shown))
            return

        messages: list[BaseMessage] = [
            SystemMessage(prompts.render("answer_system", lang)),
            HumanMessage(
                prompts.render(
                    "answer_user",
                    lang,
                    passages="\n\n".join(f"[{i}] {render_passage(p)}" for i, p in enumerate(shown, start=1)),
                    question=standalone,
                )
            ),
        ]
        usage = Usage()
        raw = ""
        shown_text = ""
        for delta in self.llm.stream(messages, schema=answer_schema(len(shown)), usage=usage):
            raw += delta
            yield AnswerEvent("token", token=delta)
            readable = partial_answer_text(raw)
            if readable != shown_text:
                shown_text = readable
                yield AnswerEvent("answer", text=readable)
        llm_calls += 1
        timings["llm_first_token_s"] = usage.first_token_s or usage.total_s
        timings["llm_s"] = usage.total_s
        prompt_tokens = usage.prompt_tokens or self.llm.count_tokens(messages)
        draft = parse_draft(raw)
        verified = verify(draft, shown, standalone)
        dropped = [f"{c.text} — {why}" for c, why in verified.dropped]
        if not verified.claims:
            reason = "the model found no answer in the passages" if not draft.claims else "no claim could be verified"
            yield AnswerEvent(
                "final",
                answer=refusal(
                    reason,
                    shown,
                    dropped_claims=dropped,
                    prompt_tokens=prompt_tokens,
                    completion_tokens=usage.completion_tokens,
                ),
            )
            return
        text, citations = render_answer(shown, verified)
        timings["total_s"] = time.perf_counter() - t0
        yield AnswerEvent(
            "final",
            answer=Answer(
                question=question,
                text=text,
                citations=citations,
                refused=False,
                lang=lang,
                standalone_question=standalone,
                passages=list(shown),
                dropped_claims=dropped,
                timings=timings,
                prompt_tokens=prompt_tokens,
                completion_tokens=usage.completion_tokens,
                llm_calls=llm_calls,
            ),
        )

    def answer(
        self, question: str, history: Sequence[Turn] = (), filters: Filters | None = None, k: int | None = None
    ) -> Answer:
        for event in self.stream(question, history, filters, k):
            if event.kind == "final" and event.answer is not None:
                return event.answer
        raise RuntimeError("the answer stream ended without a final answer")  # pragma: no cover
