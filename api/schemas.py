"""Request and response models: the API's contract, with examples for the OpenAPI schema."""

from __future__ import annotations

from datetime import date as Date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class ArticleIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "title": "Des pourparlers russo-américains pourraient se tenir à Miami",
                    "text": "Ce week-end, une rencontre entre représentants américains et russes pourrait avoir lieu…",
                    "source": "politico",
                    "date": "2025-12-18",
                    "url": "https://example.org/article",
                }
            ]
        },
    )
    id: str | None = Field(default=None, max_length=200)
    text: str = Field(description="The article body (plain text); the only required field")
    title: str = Field(default="", max_length=1000)
    source: str = Field(default="", max_length=200)
    url: str = Field(default="", max_length=2000)
    date: str = Field(default="", description="YYYY-MM-DD", max_length=40)
    lang: str = Field(default="", max_length=8)


class ArticleBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    articles: list[ArticleIn] = Field(min_length=1, max_length=1000)


class ItemStatus(BaseModel):
    id: str | None
    status: Literal["added", "unchanged", "replaced", "rejected"]
    reason: str | None = None


class IngestResult(BaseModel):
    items: list[ItemStatus]


class ArticleMeta(BaseModel):
    id: str
    title: str
    source: str
    date: str
    url: str
    lang: str
    chunks: int


class ArticleFull(ArticleMeta):
    text: str


class ArticlePage(BaseModel):
    items: list[ArticleMeta]
    limit: int
    offset: int
    next_offset: int | None


class FiltersIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    since: Date | None = None
    until: Date | None = None
    sources: list[str] = Field(default_factory=list, max_length=50)


class TurnIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["user", "assistant"]
    content: str = Field(max_length=20_000)


class AnswerRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"question": "Qui dirige la délégation russe ?"}]},
    )
    question: str = Field(min_length=1, max_length=4000)
    history: list[TurnIn] = Field(default_factory=list, max_length=20)
    filters: FiltersIn = Field(default_factory=FiltersIn)
    stream: bool = False


class SearchRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"query": "délégation russe Miami", "k": 5}]}
    )
    query: str = Field(min_length=1, max_length=4000)
    k: int = Field(default=5, ge=1, le=100)
    filters: FiltersIn = Field(default_factory=FiltersIn)
    mode: Literal["rrf", "dense", "lexical"] = "rrf"


class PassageOut(BaseModel):
    article_id: str
    title: str
    source: str
    date: str
    url: str
    text: str
    start: int
    end: int
    score: float


class SearchResult(BaseModel):
    passages: list[PassageOut]


class CitationOut(BaseModel):
    n: int
    article_id: str
    title: str
    source: str
    date: str
    url: str
    quote: str
    start: int
    end: int


class AnswerOut(BaseModel):
    question: str
    text: str
    citations: list[CitationOut]
    refused: bool
    refusal_reason: str
    lang: str
    standalone_question: str
    timings: dict[str, float]
    prompt_tokens: int | None
    completion_tokens: int | None
    # "generated" (the LLM's words, verified) or "extractive" (a source sentence quoted: VEILLE_LLM=none,
    # or the LLM unreachable, or the model's words failed and a sentence it named answers by itself).
    mode: Literal["generated", "extractive"] = "generated"


class DigestRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"date": "2025-12-18"}]})
    date: Date | None = None
    since: Date | None = None
    until: Date | None = None
    sources: list[str] = Field(default_factory=list, max_length=50)
    lang: Literal["fr", "en"] | None = None
    max_stories: int = Field(default=8, ge=1, le=30)
    format: Literal["json", "markdown", "html"] = "json"


class ChatMessage(BaseModel):
    role: Literal["system", "user", "assistant", "tool", "developer"]
    content: str | list[dict[str, Any]] | None = None


class ChatRequest(BaseModel):
    """OpenAI's chat-completions request; fields Veille does not use are accepted and ignored."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {"model": "veille", "messages": [{"role": "user", "content": "Qui dirige la délégation russe ?"}]}
            ]
        },
    )
    model: str = "veille"
    messages: list[ChatMessage] = Field(min_length=1, max_length=50)
    stream: bool = False


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorOut(BaseModel):
    error: ErrorDetail
