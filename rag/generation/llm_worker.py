"""The embedded model's own process: llama-cpp-python's OpenAI-compatible server on loopback.

Started by `rag.generation.llm_supervisor` (never by hand), shared by every Veille process on this machine that
uses the same model settings. Beside llama_cpp.server's routes it serves two that never wait for the
model's lock, so a supervisor can tell "busy generating" from "dead or hung":

- GET  /veille/health: pid, model, llama.cpp's system info (which SIMD paths the build uses);
- POST /veille/count:  {"text": ...} -> {"tokens": n}, the model's own tokenizer.

It exits by itself after `--idle-exit` seconds without a request, so a CLI command that started it
does not leave 1.1 GB resident for ever. Requests are never interrupted by the next one
(llama_cpp.server's default cuts a running stream off when another request arrives).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from typing import Any

from rag.generation import prompt_cache

HEALTH_PATH = "/veille/health"
COUNT_PATH = "/veille/count"
# Part of the worker's key: a worker left running by older code is not reused by newer code that
# expects something of it (2: max_completion_tokens honoured).
REVISION = 2


class _Activity:
    """Requests in flight and the time the last one ended, for the idle exit."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.in_flight = 0
        self.last = time.monotonic()

    def idle_for(self) -> float:
        with self.lock:
            return 0.0 if self.in_flight else time.monotonic() - self.last


class _Tracking:
    """ASGI middleware: a request is in flight until its last body chunk is sent. (A plain HTTP
    middleware returns at the headers, and the model's answers are streamed after them.)"""

    def __init__(self, app: Any, activity: _Activity) -> None:
        self.app = app
        self.activity = activity

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("path") == HEALTH_PATH:
            await self.app(scope, receive, send)
            return
        activity = self.activity
        with activity.lock:
            activity.in_flight += 1
        done = False

        def finish() -> None:
            nonlocal done
            if not done:
                done = True
                with activity.lock:
                    activity.in_flight -= 1
                    activity.last = time.monotonic()

        async def tracked_send(message: dict[str, Any]) -> None:
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                finish()

        try:
            await self.app(scope, receive, tracked_send)
        finally:
            finish()


class _CompletionLimit:
    """ASGI middleware: a request's `max_completion_tokens` (the OpenAI field, and the one LangChain's
    client sends) becomes `max_tokens`, the only one llama_cpp.server reads. Without it every length
    limit was ignored: a 1-token warm-up or a 60-token rewrite ran until the model stopped by itself."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        path = str(scope.get("path", ""))
        if scope["type"] != "http" or scope.get("method") != "POST" or not path.endswith("completions"):
            await self.app(scope, receive, send)
            return
        chunks = []
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away before sending its body
                await self.app(scope, receive, send)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None  # the server answers a malformed body with its own 422
        if isinstance(payload, dict) and payload.get("max_tokens") is None and "max_completion_tokens" in payload:
            payload["max_tokens"] = payload["max_completion_tokens"]
            body = json.dumps(payload).encode("utf-8")
            scope = {
                **scope,
                "headers": [(k, v) for k, v in scope["headers"] if k.lower() != b"content-length"]
                + [(b"content-length", str(len(body)).encode())],
            }
        sent = False

        async def replay() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            message: dict[str, Any] = await receive()
            return message

        await self.app(scope, replay, send)


def build_app(args: argparse.Namespace) -> Any:
    import llama_cpp
    from llama_cpp.server import app as server_app
    from llama_cpp.server.settings import ModelSettings, ServerSettings

    # Same sampling-independent settings as the in-process model (rag.generation.llm): logits only for the last
    # token (the server's default computes them for every prompt token), no mlock, fixed seed.
    model = ModelSettings(
        model=args.model,
        model_alias="local",
        n_ctx=args.n_ctx,
        n_batch=args.n_batch,
        n_ubatch=args.n_batch,
        n_threads=args.threads,
        n_threads_batch=args.threads,
        logits_all=False,
        use_mlock=False,
        seed=0,
        verbose=False,
    )
    server = ServerSettings(host="127.0.0.1", port=args.port, interrupt_requests=False)
    app = server_app.create_app(server_settings=server, model_settings=[model])
    proxy = server_app._llama_proxy
    if proxy is not None:
        prompt_cache.enable(proxy(None), args.prompt_cache_mb)
    activity = _Activity()
    app.state.activity = activity
    info = llama_cpp.llama_print_system_info()
    system_info = (info.decode("utf-8", "replace") if isinstance(info, bytes) else str(info)).strip()

    app.add_middleware(_CompletionLimit)
    app.add_middleware(_Tracking, activity=activity)

    @app.get(HEALTH_PATH)  # type: ignore[untyped-decorator]
    async def health() -> dict[str, Any]:
        return {
            "ok": True,
            "pid": os.getpid(),
            "model": os.path.basename(args.model),
            "system_info": system_info,
            "in_flight": activity.in_flight,
        }

    @app.post(COUNT_PATH)  # type: ignore[untyped-decorator]
    async def count(body: dict[str, Any]) -> dict[str, int]:
        # The vocabulary is read-only once loaded: tokenizing does not need the model's lock.
        proxy = server_app._llama_proxy
        if proxy is None:  # pragma: no cover - create_app sets it before serving
            raise RuntimeError("no model loaded")
        llama = proxy(None)
        return {"tokens": len(llama.tokenize(str(body.get("text", "")).encode("utf-8"), add_bos=False))}

    return app


def _exit_when_idle(activity: _Activity, idle_exit: float) -> None:
    while True:
        time.sleep(min(5.0, max(idle_exit / 4, 0.05)))
        if activity.idle_for() >= idle_exit:
            # os._exit: uvicorn's graceful shutdown would wait on the threadpool; nothing is in flight.
            os._exit(0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rag.generation.llm_worker")
    parser.add_argument("--model", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--n-ctx", type=int, default=4096)
    parser.add_argument("--n-batch", type=int, default=512)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--idle-exit", type=float, default=900.0)
    parser.add_argument("--prompt-cache-mb", type=int, default=prompt_cache.DEFAULT_MB)
    args = parser.parse_args(argv)
    import uvicorn

    app = build_app(args)
    if args.idle_exit > 0:
        threading.Thread(target=_exit_when_idle, args=(app.state.activity, args.idle_exit), daemon=True).start()
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
