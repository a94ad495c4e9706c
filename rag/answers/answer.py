"""Grounded answers: retrieve → prompt → LLM → parse → verify → cited answer (or an honest refusal)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from index.store import Filters, Store
from rag.answers.drafts import grounded_schema, parse_grounded, partial_answer_text
from rag.answers.extractive import MIN_QUOTE_COVERAGE, best_sentences
from rag.answers.grounding import Sentence, render_numbered
from rag.answers.grounding import select as select_sentences
from rag.answers.support import GroundedClaim, GroundedVerification, verify_answer
from rag.details import missing_details
from rag.generation import prompts
from rag.generation.llm import ChatLLM, LLMUnreachable, Usage, get_llm
from rag.retrieval import HybridRetriever, Passage, QueryError
from veille.settings import Settings
from veille.text.followups import faithful_rewrite, needs_context
from veille.text.language import detect_language
from veille.text.tokens import count_tokens


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
    retrieved: list[Passage] = field(default_factory=list)  # the ranked passages it chose from (evals read it)
    dropped_claims: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    llm_calls: int = 0
    mode: Literal["generated", "extractive"] = "generated"  # extractive: quoted sentences, no LLM
    sentences: list[Sentence] = field(default_factory=list)  # the numbered sentences the model read
    raw_output: str = ""  # what the model wrote, before verification (for evaluation and debugging)


@dataclass(frozen=True)
class AnswerEvent:
    kind: Literal["retrieved", "token", "answer", "final"]
    token: str = ""  # raw model delta ("token")
    text: str = ""  # the readable answer so far ("answer")
    passages: tuple[Passage, ...] = ()
    answer: Answer | None = None


def render_grounded(
    shown: Sequence[Passage], sentences: Sequence[Sentence], verified: GroundedVerification
) -> tuple[str, list[Citation]]:
    """Text with [n] markers numbered by first use; each citation is one exact sentence of an article."""
    numbers: dict[int, int] = {}
    citations: list[Citation] = []
    parts = []
    for claim in verified.claims:
        marks = []
        for sid in claim.sentences:
            if sid not in numbers:
                sent = sentences[sid - 1]
                p = shown[sent.passage]
                numbers[sid] = len(citations) + 1
                citations.append(
                    Citation(
                        n=numbers[sid],
                        article_id=p.article_id,
                        chunk_id=p.chunk_id,
                        title=p.title,
                        source=p.source,
                        date=p.date,
                        url=p.url,
                        quote=p.text[sent.start : sent.end],
                        start=p.start + sent.start,
                        end=p.start + sent.end,
                    )
                )
            marks.append(f"[{numbers[sid]}]")
        body = re.sub(r"\s+([.,;:!?])", r"\1", claim.text.strip())
        end = ""
        if body and body[-1] in ".!?…":
            body, end = body[:-1].rstrip(), body[-1]
        parts.append(f"{body} {''.join(dict.fromkeys(marks))}{end or '.'}")
    return " ".join(parts), citations


def _quoted(sentence: str) -> str:
    """A source sentence as an answer: in quotes, its own final stop left out so that the [n] marker
    stays inside the answer's one sentence (« … » [1].)."""
    return f"« {' '.join(sentence.split()).rstrip('.!?…').rstrip()} »"


def streamable_text(raw: str) -> str:
    """The answer readable so far, its final punctuation held back: the verified text then only adds
    its [n] markers and that punctuation, so a client that appends deltas ends with the verified text."""
    return partial_answer_text(raw).rstrip().rstrip(".!?…").rstrip()


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

    def warm_up(self, lang: str = "fr") -> None:
        """Load the model and have it read the answer prompt's fixed head (the system prompt) once: the
        model keeps that prefix's state, so the first question pays neither."""
        if self.settings.llm == "none":
            return
        messages: list[BaseMessage] = [
            SystemMessage(prompts.render("answer_system", lang)),
            HumanMessage(prompts.render("answer_user", lang, sources="", question="")),
        ]
        for _ in self.llm.stream(messages, max_tokens=1, usage=Usage()):
            pass

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
        # A rewrite that lost the question (empty, or an answer instead) is worse than none; so is one
        # with a number or year the conversation never said (a small model's "… en décembre 2020").
        said = " ".join([question, *(t.content for t in history)])
        invented = any(d[0].isdigit() for d in missing_details(rewritten, said))
        # So is one that no longer asks what the follow-up asked (its question word or a content word gone).
        kept = 3 <= len(rewritten) <= 400 and not invented and faithful_rewrite(question, rewritten, lang)
        return rewritten if kept else question

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
        if history and s.llm != "none" and (s.condense == "always" or needs_context(question, lang)):
            usage = Usage()
            try:
                standalone = self.condense(question, history, lang, usage)
                llm_calls += 1
            except LLMUnreachable:
                pass  # the answer below falls back to quoting the sources, on the question as asked
            timings["condense_s"] = usage.total_s
        t1 = time.perf_counter()
        candidates = self.retriever.retrieve(standalone, k=max(k or s.answer_passages, 1), filters=filters)
        timings["retrieve_s"] = time.perf_counter() - t1
        shown, sentences = select_sentences(candidates[: k or s.answer_passages], standalone, s.context_tokens)
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
                sentences=list(sentences),
                raw_output=raw,
                retrieved=list(candidates),
            )

        raw = ""
        if not candidates:
            yield AnswerEvent("final", answer=refusal("no passage matches the question and filters", []))
            return
        lexical_match = any(p.lexical_rank is not None for p in candidates)
        best_dense = max((p.dense_score for p in candidates if p.dense_score is not None), default=-1.0)
        if not lexical_match and best_dense < s.min_dense_score:
            yield AnswerEvent(
                "final", answer=refusal("no passage is close enough to the question", shown or candidates[:3])
            )
            return

        if not sentences:
            # No sentence shares a term or a name with the question: nothing to ask the model.
            yield AnswerEvent(
                "final", answer=refusal("no sentence of the passages is about the question", candidates[:3])
            )
            return
        same_language = all(p.lang in ("", lang) for p in shown)

        def grounded(
            text: str, verified: GroundedVerification, mode: Literal["generated", "extractive"], **extra: Any
        ) -> Answer:
            body, citations = render_grounded(shown, sentences, verified)
            if mode == "extractive" and extra.pop("fallback", False):
                body = f"{prompts.load('extractive_note', lang)} {body}"
            timings["total_s"] = time.perf_counter() - t0
            return Answer(
                question=question,
                text=body,
                citations=citations,
                refused=False,
                lang=lang,
                standalone_question=standalone,
                passages=list(shown),
                timings=timings,
                llm_calls=llm_calls,
                mode=mode,
                sentences=list(sentences),
                raw_output=raw,
                retrieved=list(candidates),
                **extra,
            )

        # The sentence that could be quoted as the answer: the no-LLM answer, its fallback, and the gate.
        picks = best_sentences(standalone, sentences, shown, limit=1, min_coverage=MIN_QUOTE_COVERAGE)

        def extractive(fallback: bool, why: str = "") -> Answer:
            if not picks:
                reason = "no shown sentence answers the question (extractive answer)"
                answer = refusal(f"{reason}; {why}" if why else reason, shown)
                answer.mode = "extractive"
                return answer
            sent = picks[0].sentence
            quote = _quoted(sent.text)
            verified = GroundedVerification(claims=[GroundedClaim(quote, (sent.n,), False)])
            return grounded(quote, verified, "extractive", fallback=fallback, refusal_reason=why)

        if self.settings.llm == "none":
            yield AnswerEvent("final", answer=extractive(fallback=False))
            return
        if s.answer_gate and same_language and not picks:
            # What the model would have read holds no sentence that could be quoted as the answer:
            # its drafts here were mostly refused or wrong, after seconds of reading (settings.answer_gate).
            yield AnswerEvent(
                "final",
                answer=refusal(
                    "no shown sentence is about the question, holds what it asks and half of its terms", shown
                ),
            )
            return

        messages: list[BaseMessage] = [
            SystemMessage(prompts.render("answer_system", lang)),
            HumanMessage(
                prompts.render(
                    "answer_user", lang, sources=render_numbered(shown, sentences, lang), question=standalone
                )
            ),
        ]
        usage = Usage()
        shown_text = ""
        try:
            stream = self.llm.stream(
                messages, schema=grounded_schema(len(sentences)), max_tokens=s.answer_max_tokens, usage=usage
            )
            for delta in stream:
                raw += delta
                yield AnswerEvent("token", token=delta)
                readable = streamable_text(raw)
                if readable != shown_text:
                    shown_text = readable
                    yield AnswerEvent("answer", text=readable)
        except LLMUnreachable as exc:
            # Nothing was asked of the model: the sources can still answer, extractively and said so.
            yield AnswerEvent("final", answer=extractive(fallback=True, why=f"LLM unreachable: {exc}"))
            return
        llm_calls += 1
        timings["llm_first_token_s"] = usage.first_token_s or usage.total_s
        timings["llm_s"] = usage.total_s
        prompt_tokens = usage.prompt_tokens or self.llm.count_tokens(messages)
        draft = parse_grounded(raw)
        if not draft.answer or (not draft.ids and draft.structured):
            reason = "the model found no answer in the sentences shown"
            if draft.answer:
                reason = "the model's answer names no sentence"
            yield AnswerEvent(
                "final",
                answer=refusal(
                    reason,
                    shown,
                    dropped_claims=[draft.answer] if draft.answer else [],
                    prompt_tokens=prompt_tokens,
                    completion_tokens=usage.completion_tokens,
                ),
            )
            return
        verified = verify_answer(draft.answer, draft.ids, sentences, shown, standalone, same_language)
        dropped = [f"{c} — {why}" for c, why in verified.dropped]
        rescued = False
        if not verified.claims and s.answer_rescue:
            # The model's words failed the checks but the sentences it named may still answer: one
            # that is about the question, holds what it asks for and half of its terms is quoted instead.
            named = best_sentences(standalone, sentences, shown, among=draft.ids, min_coverage=MIN_QUOTE_COVERAGE)
            if named:
                verified = GroundedVerification(
                    claims=[GroundedClaim(_quoted(named[0].sentence.text), (named[0].sentence.n,), True)],
                    dropped=verified.dropped,
                )
                rescued = True
        if not verified.claims:
            yield AnswerEvent(
                "final",
                answer=refusal(
                    "no claim could be verified",
                    shown,
                    dropped_claims=dropped,
                    prompt_tokens=prompt_tokens,
                    completion_tokens=usage.completion_tokens,
                ),
            )
            return
        yield AnswerEvent(
            "final",
            answer=grounded(
                draft.answer,
                verified,
                "extractive" if rescued else "generated",
                dropped_claims=dropped,
                prompt_tokens=prompt_tokens,
                completion_tokens=usage.completion_tokens,
            ),
        )

    def answer(
        self, question: str, history: Sequence[Turn] = (), filters: Filters | None = None, k: int | None = None
    ) -> Answer:
        for event in self.stream(question, history, filters, k):
            if event.kind == "final" and event.answer is not None:
                return event.answer
        raise RuntimeError("the answer stream ended without a final answer")  # pragma: no cover
