"""/v1/answers (JSON or Server-Sent Events) and the OpenAI-compatible /v1/chat/completions."""

from __future__ import annotations

import itertools
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse

from api.errors import ApiError, error_body
from api.schemas import (
    AnswerOut,
    AnswerRequest,
    ChatMessage,
    ChatRequest,
    FiltersIn,
    PassageOut,
    SearchRequest,
    SearchResult,
)
from api.services import Services, reader, services
from index.store import Filters
from rag.answers.answer import Answer, AnswerEvent, Turn
from rag.generation.llm import LLMError, LLMUnavailable

router = APIRouter(tags=["answers"])


def _filters(f: FiltersIn) -> Filters:
    return Filters(since=f.since, until=f.until, sources=tuple(f.sources))


def answer_out(a: Answer) -> dict[str, Any]:
    return AnswerOut(
        question=a.question,
        text=a.text,
        citations=[asdict(c) for c in a.citations],  # type: ignore[misc]
        refused=a.refused,
        refusal_reason=a.refusal_reason,
        lang=a.lang,
        standalone_question=a.standalone_question,
        timings={k: round(v, 3) for k, v in a.timings.items()},
        prompt_tokens=a.prompt_tokens,
        completion_tokens=a.completion_tokens,
        mode=a.mode,
    ).model_dump()


def _sse(event: str, data: Any) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def _primed(svc: Services, question: str, history: list[Turn], filters: Filters) -> Iterator[AnswerEvent]:
    """The answer stream with its first step taken inside the request, so bad input is a 422 and a
    store that is down a 503, not a stream that breaks after a 200. It holds a place in the LLM
    queue until the stream is consumed or closed."""
    slot = svc.llm_slot()
    slot.__enter__()
    try:
        gen = svc.ask(question, history, filters)
        first = next(gen)
    except BaseException:
        slot.__exit__(None, None, None)
        raise

    def held() -> Iterator[AnswerEvent]:
        try:
            yield from itertools.chain([first], gen)
        finally:
            slot.__exit__(None, None, None)

    return held()


def _final(events: Iterator[AnswerEvent]) -> Answer:
    """Run the stream to its end (releasing its LLM slot) and return the verified answer."""
    final = None
    for ev in events:
        if ev.kind == "final" and ev.answer is not None:
            final = ev.answer
    if final is None:
        raise ApiError(500, "internal_error", "the answer ended without a result")
    return final


@router.post("/v1/search", response_model=SearchResult, summary="Hybrid retrieval only (no LLM): the best passages")
def search(
    req: SearchRequest, _: Annotated[object, Depends(reader)], svc: Annotated[Services, Depends(services)]
) -> SearchResult:
    passages = svc.search(req.query, k=req.k, filters=_filters(req.filters), mode=req.mode)
    return SearchResult(
        passages=[
            PassageOut(
                article_id=p.article_id,
                title=p.title,
                source=p.source,
                date=p.date,
                url=p.url,
                text=p.text,
                start=p.start,
                end=p.end,
                score=round(p.score, 6),
            )
            for p in passages
        ]
    )


@router.post("/v1/answers", response_model=AnswerOut, summary="Answer a question with verified citations")
def answer(
    req: AnswerRequest, _: Annotated[object, Depends(reader)], svc: Annotated[Services, Depends(services)]
) -> Any:
    history = [Turn(t.role, t.content) for t in req.history]
    events = _primed(svc, req.question, history, _filters(req.filters))
    if not req.stream:
        final = _final(events)
        svc.metrics.answered(final.refused, final.prompt_tokens, final.completion_tokens)
        return answer_out(final)

    def sse() -> Iterator[str]:
        try:
            for ev in events:
                if ev.kind == "token":
                    yield _sse("token", {"token": ev.token})
                elif ev.kind == "answer":
                    yield _sse("answer", {"text": ev.text})
                elif ev.kind == "retrieved":
                    yield _sse("retrieved", {"passages": [p.article_id for p in ev.passages]})
                elif ev.kind == "final" and ev.answer is not None:
                    svc.metrics.answered(ev.answer.refused, ev.answer.prompt_tokens, ev.answer.completion_tokens)
                    yield _sse("final", answer_out(ev.answer))
        except LLMUnavailable as exc:
            yield _sse("error", error_body("llm_unavailable", str(exc)))
        except LLMError as exc:
            yield _sse("error", error_body("llm_error", str(exc)))

    return StreamingResponse(sse(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


def _text(m: ChatMessage) -> str:
    if isinstance(m.content, str):
        return m.content
    if isinstance(m.content, list):
        return " ".join(str(p.get("text", "")) for p in m.content if isinstance(p, dict))
    return ""


def _chat_turns(messages: list[ChatMessage]) -> tuple[str, list[Turn]]:
    users = [i for i, m in enumerate(messages) if m.role == "user"]
    if not users:
        raise ApiError(422, "invalid_request", "messages has no user message: the last user message is the question")
    last = users[-1]
    history = [Turn(m.role, _text(m)) for m in messages[:last] if m.role in ("user", "assistant")]
    return _text(messages[last]), history


def _veille_extra(a: Answer) -> dict[str, Any]:
    out = answer_out(a)
    return {"citations": out["citations"], "refused": a.refused, "refusal_reason": a.refusal_reason}


@router.post(
    "/v1/chat/completions",
    summary="OpenAI-compatible chat over the corpus; sources in the extra field 'veille' and as [n] in the text",
)
def chat_completions(
    req: ChatRequest, _: Annotated[object, Depends(reader)], svc: Annotated[Services, Depends(services)]
) -> Any:
    question, history = _chat_turns(req.messages)
    events = _primed(svc, question, history, Filters())
    cid, created = f"chatcmpl-{uuid.uuid4().hex[:24]}", int(time.time())
    base = {"id": cid, "created": created, "model": req.model}
    if not req.stream:
        final = _final(events)
        svc.metrics.answered(final.refused, final.prompt_tokens, final.completion_tokens)
        prompt, completion = final.prompt_tokens or 0, final.completion_tokens or 0
        return {
            **base,
            "object": "chat.completion",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": final.text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion},
            "veille": _veille_extra(final),
        }

    def chunk(delta: dict[str, Any], finish: str | None = None, extra: dict[str, Any] | None = None) -> str:
        body = {
            **base,
            "object": "chat.completion.chunk",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        if extra:
            body["veille"] = extra
        return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

    def sse() -> Iterator[str]:
        # The answer grows chunk by chunk as the model writes it. The verified text normally extends
        # what was streamed (its [n] markers and final punctuation): that remainder is the last delta,
        # so the content a client accumulates is the verified answer. When verification changed the
        # text (a claim dropped, a refusal), the streamed draft cannot be taken back: the verified
        # text follows it after a line that says so, and `veille.text` carries it alone.
        yield chunk({"role": "assistant", "content": ""})
        sent = ""
        try:
            for ev in events:
                if ev.kind == "answer" and ev.text.startswith(sent) and len(ev.text) > len(sent):
                    yield chunk({"content": ev.text[len(sent) :]})
                    sent = ev.text
                elif ev.kind == "final" and ev.answer is not None:
                    a = ev.answer
                    svc.metrics.answered(a.refused, a.prompt_tokens, a.completion_tokens)
                    if a.text.startswith(sent):
                        rest = a.text[len(sent) :]
                    else:
                        rest = ("\n\n" + ("Verified answer: " if a.lang == "en" else "Réponse vérifiée : ")) + a.text
                    if rest:
                        yield chunk({"content": rest})
                    yield chunk({}, "stop", {**_veille_extra(a), "text": a.text})
        except (LLMUnavailable, LLMError) as exc:
            yield f"data: {json.dumps(error_body('llm_unavailable', str(exc)), ensure_ascii=False)}\n\n"
        yield "data: [DONE]\n\n"

    return StreamingResponse(sse(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
