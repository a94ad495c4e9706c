"""The chat model behind LangChain's interface: the embedded llama.cpp model or any OpenAI-compatible server.

The embedded model runs by default in its own supervised process (`rag.generation.llm_supervisor`), reached
through the same OpenAI-compatible path as any server: a crash in native code becomes a 503 for the
request in flight and a restart, not a dead caller. `VEILLE_LLM_PROCESS=inprocess` loads it inside
the caller instead (one model per process, calls serialised: llama.cpp's context is not thread-safe).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage

if TYPE_CHECKING:
    from rag.generation.llm_supervisor import Supervisor

from veille.registry import Registry
from veille.settings import Settings


class LLMError(RuntimeError):
    """The LLM cannot be reached or loaded; the message says what to check."""


class LLMUnavailable(LLMError):
    """The LLM server is down or timed out (HTTP 503 material)."""


class LLMUnreachable(LLMUnavailable):
    """No connection could be made before anything was asked: callers may fall back (extractive answers)."""


@dataclass
class Usage:
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    first_token_s: float | None = None
    total_s: float = 0.0


class ChatLLM:
    """Streams text from a LangChain chat model, asking for JSON the way the backend understands."""

    def __init__(
        self,
        model: BaseChatModel | None,
        backend: str,
        json_mode: str,
        serialise: bool,
        worker: Any = None,
        connect: Callable[[str], BaseChatModel] | None = None,
    ) -> None:
        self._model = model
        self.backend = backend
        self._json_mode = json_mode
        self._lock = threading.Lock() if serialise else None
        # The embedded model's worker (rag.generation.llm_supervisor.Supervisor) and how to talk to it at a URL:
        # its URL changes when it is restarted, so the client is made per URL.
        self.worker = worker
        self._connect = connect
        self._by_url: dict[str, BaseChatModel] = {}
        if worker is not None:
            self.name = f"{backend}:{worker.spec.model_path.name} (worker)"
        else:
            self.name = f"{backend}:{getattr(model, 'model_name', None) or getattr(model, 'model_path', '')}"

    @property
    def model(self) -> BaseChatModel:
        """The chat model for the next call: for the worker, the client of a live one (started if need be)."""
        if self.worker is None:
            assert self._model is not None
            return self._model
        from rag.generation.llm_supervisor import WorkerError

        try:
            url = self.worker.url()
        except WorkerError as exc:
            raise LLMUnreachable(str(exc)) from exc
        if url not in self._by_url:
            assert self._connect is not None
            self._by_url = {url: self._connect(url)}
        return self._by_url[url]

    @property
    def in_process(self) -> bool:
        return self.backend == "embedded" and self.worker is None

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
            return ["json_object"]  # llama.cpp's: a JSON schema compiled to a grammar
        return ["json_schema", "json_object", "none"]

    def _count_text(self, text: str) -> int | None:
        # llama.cpp's stream carries no usage metadata; its own tokenizer gives the exact count.
        if self.worker is not None:
            n: int | None = self.worker.count_tokens(text)
            return n
        client = getattr(self._model, "client", None)
        if self.backend != "embedded" or client is None:
            return None
        return len(client.tokenize(text.encode("utf-8"), add_bos=False))

    def count_tokens(self, messages: list[BaseMessage]) -> int | None:
        n = self._count_text("".join(str(m.content) for m in messages))
        return None if n is None else n + 8 * len(messages)

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
                model = self.model
                for chunk in model.stream(messages, **kwargs):
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
            except LLMUnavailable:
                raise
            except Exception as exc:
                if _is_refused(exc):
                    raise LLMUnreachable(
                        f"the LLM server at {self.name} refuses connections ({exc.__class__.__name__}); "
                        "check VEILLE_LLM_URL and that the server is up"
                    ) from exc
                if _is_unavailable(exc):
                    if emitted:
                        raise LLMUnavailable(
                            f"the LLM at {self.name} went away in the middle of the answer "
                            f"({exc.__class__.__name__}); retry: the model is restarted on the next call"
                        ) from exc
                    raise LLMUnavailable(
                        f"the LLM server at {self.name} is unreachable or timed out ({exc.__class__.__name__}); "
                        "check VEILLE_LLM_URL and that the server is up"
                    ) from exc
                if emitted:
                    raise LLMError(f"the LLM stream broke off: {exc}") from exc
                if i + 1 < len(modes) and _is_bad_request(exc):
                    continue
                raise LLMError(f"the LLM call failed: {exc}") from exc


def _is_unavailable(exc: BaseException) -> bool:
    """Connection refused, timeouts, 502/503/504 — anywhere in the chain (clients wrap each other)."""
    seen: BaseException | None = exc
    while seen is not None:
        name = type(seen).__name__
        # RemoteProtocolError / ReadError: the server died with the response half sent.
        if any(k in name for k in ("Connect", "Timeout", "RemoteProtocol", "ReadError")) or getattr(
            seen, "status_code", 0
        ) in (502, 503, 504):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _is_refused(exc: BaseException) -> bool:
    """Nothing was sent: the connection itself failed (refused, no route), not a request cut off."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ConnectionRefusedError) or type(seen).__name__ == "ConnectError":
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _is_bad_request(exc: Exception) -> bool:
    return getattr(exc, "status_code", 0) in (400, 404, 415, 422, 500) or type(exc).__name__ == "BadRequestError"


@dataclass(frozen=True)
class LLMBackend:
    """One kind of LLM, as VEILLE_LLM names it: how to build its chat model (JSON mode and token
    counting are the ChatLLM's), how to tell whether it can answer now, and what to say of it."""

    build: Callable[[Settings], ChatLLM]
    status: Callable[[Settings], str]  # "ok", or "unavailable: why"
    describe: Callable[[Settings], dict[str, str]]


LLM_BACKENDS: Registry[LLMBackend] = Registry("LLM backend", "VEILLE_LLM")


def build_chat_model(settings: Settings) -> ChatLLM:
    return LLM_BACKENDS.get(settings.llm).build(settings)


def _build_openai(settings: Settings) -> ChatLLM:
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


def _openai_status(settings: Settings) -> str:
    """The server's /models answering."""
    import httpx

    key = settings.llm_api_key.get_secret_value()
    try:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        r = httpx.get(settings.llm_url.rstrip("/") + "/models", headers=headers, timeout=3.0)
        return "ok" if r.status_code < 500 else f"unavailable: HTTP {r.status_code} from {settings.llm_url}"
    except httpx.HTTPError as exc:
        return f"unavailable: {type(exc).__name__} at {settings.llm_url}"


LLM_BACKENDS.register("openai")(
    LLMBackend(_build_openai, _openai_status, lambda s: {"url": s.llm_url, "model": s.llm_model})
)


def _no_model(settings: Settings) -> ChatLLM:
    raise LLMError("VEILLE_LLM=none: no language model is configured (answers are extractive)")


LLM_BACKENDS.register("none")(
    LLMBackend(_no_model, lambda s: "ok", lambda s: {"answers": "extractive (quoted sentences)"})
)


def _build_embedded(settings: Settings) -> ChatLLM:
    from rag.generation.model_weights import ensure_model

    path = settings.llm_model_path or ensure_model(settings.model_cache_dir)
    if not path.exists():
        raise LLMError(f"VEILLE_LLM_MODEL_PATH={path} does not exist")
    if settings.llm_process == "worker":
        return _worker_chat_model(settings, path)
    from langchain_community.chat_models import ChatLlamaCpp

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
    from rag.generation import prompt_cache

    prompt_cache.enable(embedded.client, settings.llm_prompt_cache_mb)
    return ChatLLM(embedded, "embedded", "json_object", serialise=True)


def worker_dir(settings: Settings) -> Path:
    """The folder of the worker's state files for these settings."""
    return settings.llm_worker_dir or settings.model_cache_dir / "llm-worker"


def worker_supervisor(settings: Settings, path: Path) -> Supervisor:
    """The process-wide supervisor of the model worker for these settings. One place builds its spec:
    the first caller's spec (timeouts included) is the one the process keeps."""
    from rag.generation.llm_supervisor import WorkerSpec, supervisor_for

    spec = WorkerSpec(
        model_path=path,
        n_ctx=settings.llm_ctx,
        threads=settings.threads,
        idle_exit_s=settings.llm_idle_exit_s,
        start_timeout_s=settings.llm_start_timeout_s,
        prompt_cache_mb=settings.llm_prompt_cache_mb,
    )
    return supervisor_for(spec, worker_dir(settings))


def _worker_chat_model(settings: Settings, path: Path) -> ChatLLM:
    from langchain_openai import ChatOpenAI

    worker = worker_supervisor(settings, path)

    def connect(url: str) -> BaseChatModel:
        return ChatOpenAI(
            base_url=url,
            model="local",
            api_key="not-needed",  # type: ignore[arg-type]
            temperature=0,
            max_completion_tokens=settings.llm_max_tokens,
            timeout=settings.llm_timeout_s,
            max_retries=0,  # a retry would land on a dead worker; the next request restarts it
            # Greedy like the in-process model: llama.cpp's server defaults to top_k 40, repeat 1.1.
            extra_body={"top_k": 1, "top_p": 1.0, "repeat_penalty": 1.0, "seed": 0},
        )

    return ChatLLM(None, "embedded", "json_object", serialise=False, worker=worker, connect=connect)


_models: dict[str, ChatLLM] = {}
_models_lock = threading.Lock()


def get_llm(settings: Settings) -> ChatLLM:
    """The process-wide model for these LLM settings (loaded on first use, then shared)."""
    fields = (
        "llm", "llm_url", "llm_model", "llm_model_path", "llm_ctx", "llm_max_tokens", "threads", "llm_process",
        "llm_prompt_cache_mb", "llm_worker_dir", "model_cache_dir",
    )  # fmt: skip
    key = "|".join(str(getattr(settings, f)) for f in fields)
    with _models_lock:
        if key not in _models:
            _models[key] = build_chat_model(settings)
        return _models[key]


def describe_llm(settings: Settings) -> dict[str, str]:
    """What `veille stats` and /readyz say of the LLM: backend, where it runs, llama.cpp's SIMD paths."""
    return {"backend": settings.llm, **LLM_BACKENDS.get(settings.llm).describe(settings)}


def _embedded_weights(settings: Settings) -> Path:
    from rag.generation.model_weights import FILE_NAME

    return settings.llm_model_path or settings.model_cache_dir / FILE_NAME


def _embedded_status(settings: Settings) -> str:
    path = _embedded_weights(settings)
    return "ok" if path.exists() else f"unavailable: model weights not assembled yet at {path}"


def _describe_embedded(settings: Settings) -> dict[str, str]:
    out: dict[str, str] = {"process": settings.llm_process}
    try:
        from rag.generation.llm_smoke import system_info

        out["llama_cpp_system_info"] = system_info()
    except ImportError as exc:
        out["llama_cpp_system_info"] = f"unavailable: {exc}"
    if settings.llm_process == "worker":
        path = _embedded_weights(settings)
        if path.exists():
            health = worker_supervisor(settings, path).health()
            out["worker"] = f"running, pid {health['pid']}" if health else "not running (starts on the first answer)"
        else:
            out["worker"] = f"not started: the weights are not assembled yet at {path}"
    return out


LLM_BACKENDS.register("embedded")(LLMBackend(_build_embedded, _embedded_status, _describe_embedded))
