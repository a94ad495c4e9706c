"""The chat model behind LangChain's interface: embedded llama.cpp or any OpenAI-compatible server.

One model per process (loading the embedded one takes seconds and a GB of RAM);
llama.cpp's context is not thread-safe, so calls to it are serialised.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage

from veille.settings import Settings


class LLMError(RuntimeError):
    """The LLM cannot be reached or loaded; the message says what to check."""


class LLMUnavailable(LLMError):
    """The LLM server is down or timed out (HTTP 503 material)."""


@dataclass
class Usage:
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    first_token_s: float | None = None
    total_s: float = 0.0


class ChatLLM:
    """Streams text from a LangChain chat model, asking for JSON the way the backend understands."""

    def __init__(self, model: BaseChatModel, backend: str, json_mode: str, serialise: bool) -> None:
        self.model = model
        self.backend = backend
        self._json_mode = json_mode
        self._lock = threading.Lock() if serialise else None
        self.name = f"{backend}:{getattr(model, 'model_name', None) or getattr(model, 'model_path', '')}"

    def _response_format(self, schema: dict[str, Any] | None, mode: str) -> dict[str, Any] | None:
        if schema is None or mode == "none":
            return None
        if mode == "json_schema":
            return {"type": "json_schema", "json_schema": {"name": "answer", "schema": schema}}
        return {"type": "json_object", "schema": schema}

    def _modes(self) -> list[str]:
        if self._json_mode != "auto":
            return [self._json_mode]
        if self.backend == "embedded":
            return ["json_object"]
        return ["json_schema", "json_object", "none"]

    def _count_text(self, text: str) -> int | None:
        # llama.cpp's LangChain stream carries no usage metadata; its own tokenizer gives the exact count.
        client = getattr(self.model, "client", None)
        if self.backend != "embedded" or client is None:
            return None
        return len(client.tokenize(text.encode("utf-8"), add_bos=False))

    def count_tokens(self, messages: list[BaseMessage]) -> int | None:
        client = getattr(self.model, "client", None)
        if self.backend != "embedded" or client is None:
            return None
        text = "".join(str(m.content) for m in messages)
        return len(client.tokenize(text.encode("utf-8"), add_bos=False)) + 8 * len(messages)

    def stream(
        self,
        messages: list[BaseMessage],
        schema: dict[str, Any] | None = None,
        max_tokens: int | None = None,
        usage: Usage | None = None,
    ) -> Iterator[str]:
        """Yield text deltas. Falls back to laxer JSON modes when a server rejects one."""
        usage = usage if usage is not None else Usage()
        if self._lock is not None:
            self._lock.acquire()
        try:
            yield from self._stream(messages, schema, max_tokens, usage)
        finally:
            if self._lock is not None:
                self._lock.release()

    def _stream(
        self, messages: list[BaseMessage], schema: dict[str, Any] | None, max_tokens: int | None, usage: Usage
    ) -> Iterator[str]:
        modes = self._modes()
        for i, mode in enumerate(modes):
            kwargs: dict[str, Any] = {}
            fmt = self._response_format(schema, mode)
            if fmt is not None:
                kwargs["response_format"] = fmt
            if max_tokens is not None:
                kwargs["max_tokens"] = max_tokens
            started = time.perf_counter()
            emitted = False
            produced: list[str] = []
            try:
                for chunk in self.model.stream(messages, **kwargs):
                    meta = getattr(chunk, "usage_metadata", None)
                    if meta:
                        usage.prompt_tokens = meta.get("input_tokens") or usage.prompt_tokens
                        usage.completion_tokens = meta.get("output_tokens") or usage.completion_tokens
                    text = chunk.content if isinstance(chunk.content, str) else ""
                    if text:
                        if usage.first_token_s is None:
                            usage.first_token_s = time.perf_counter() - started
                        emitted = True
                        produced.append(text)
                        yield text
                usage.total_s = time.perf_counter() - started
                if usage.completion_tokens is None:
                    usage.completion_tokens = self._count_text("".join(produced))
                if self._json_mode == "auto" and self.backend != "embedded":
                    self._json_mode = mode  # remember what this server accepts
                return
            except Exception as exc:
                if emitted:
                    raise LLMError(f"the LLM stream broke off: {exc}") from exc
                if _is_unavailable(exc):
                    raise LLMUnavailable(
                        f"the LLM server at {self.name} is unreachable or timed out ({exc.__class__.__name__}); "
                        "check VEILLE_LLM_URL and that the server is up"
                    ) from exc
                if i + 1 < len(modes) and _is_bad_request(exc):
                    continue
                raise LLMError(f"the LLM call failed: {exc}") from exc


def _is_unavailable(exc: BaseException) -> bool:
    """Connection refused, timeouts, 502/503/504 — anywhere in the chain (clients wrap each other)."""
    seen: BaseException | None = exc
    while seen is not None:
        name = type(seen).__name__
        if "Connect" in name or "Timeout" in name or getattr(seen, "status_code", 0) in (502, 503, 504):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _is_bad_request(exc: Exception) -> bool:
    return getattr(exc, "status_code", 0) in (400, 404, 415, 422, 500) or type(exc).__name__ == "BadRequestError"


def build_chat_model(settings: Settings) -> ChatLLM:
    if settings.llm == "openai":
        if not settings.llm_url:
            raise LLMError("VEILLE_LLM=openai needs VEILLE_LLM_URL (e.g. http://127.0.0.1:8080/v1)")
        from langchain_openai import ChatOpenAI

        chat = ChatOpenAI(
            base_url=settings.llm_url,
            model=settings.llm_model,
            api_key=settings.llm_api_key if settings.llm_api_key.get_secret_value() else "not-needed",  # type: ignore[arg-type]
            temperature=0,
            max_completion_tokens=settings.llm_max_tokens,
            timeout=settings.llm_timeout_s,
            max_retries=1,
            stream_usage=True,
        )
        return ChatLLM(chat, "openai", settings.llm_json_mode, serialise=False)

    from langchain_community.chat_models import ChatLlamaCpp

    from rag.model_weights import ensure_model

    path = settings.llm_model_path or ensure_model(settings.model_cache_dir)
    if not path.exists():
        raise LLMError(f"VEILLE_LLM_MODEL_PATH={path} does not exist")
    try:
        embedded = ChatLlamaCpp(
            model_path=str(path),
            n_ctx=settings.llm_ctx,
            n_threads=settings.threads,
            n_batch=512,
            temperature=0.0,
            top_p=1.0,
            top_k=1,
            repeat_penalty=1.0,
            max_tokens=settings.llm_max_tokens,
            seed=0,
            verbose=False,
        )
    except Exception as exc:
        raise LLMError(f"cannot load the embedded model {path}: {exc}") from exc
    return ChatLLM(embedded, "embedded", "json_object", serialise=True)


_models: dict[str, ChatLLM] = {}
_models_lock = threading.Lock()


def get_llm(settings: Settings) -> ChatLLM:
    """The process-wide model for these LLM settings (loaded on first use, then shared)."""
    fields = ("llm", "llm_url", "llm_model", "llm_model_path", "llm_ctx", "llm_max_tokens", "threads")
    key = "|".join(str(getattr(settings, f)) for f in fields)
    with _models_lock:
        if key not in _models:
            _models[key] = build_chat_model(settings)
        return _models[key]
