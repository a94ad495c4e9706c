"""One error shape for every failure: {"error": {"code": ..., "message": ...}}, the message saying what to fix."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from index.vectors import StoreError
from rag.briefings.digests import DigestError
from rag.generation.llm import LLMError, LLMUnavailable
from rag.retrieval import QueryError

log = logging.getLogger("veille.api")


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers


class BodyTooLarge(Exception):
    """Raised while reading a request body past the limit (bodies sent without Content-Length)."""


def error_body(code: str, message: str) -> dict[str, dict[str, str]]:
    return {"error": {"code": code, "message": message}}


def _json(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body(code, message), status_code=status, headers=headers)


def _is_connection_error(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ConnectionError) or "Connect" in type(seen).__name__ or "Timeout" in type(seen).__name__:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api(_: Request, exc: ApiError) -> JSONResponse:
        return _json(exc.status, exc.code, exc.message, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        parts = []
        for e in exc.errors()[:5]:
            where = ".".join(str(x) for x in e.get("loc", ()) if x != "body")
            parts.append(f"{where or 'body'}: {e.get('msg', 'invalid')}")
        return _json(422, "invalid_request", "; ".join(parts) or "invalid request")

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        if isinstance(exc.__cause__, BodyTooLarge):  # FastAPI turns body-reading errors into a 400
            return _json(413, "payload_too_large", str(exc.__cause__))
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return _json(exc.status_code, code, str(exc.detail))

    @app.exception_handler(LLMUnavailable)
    async def _llm_down(_: Request, exc: LLMUnavailable) -> JSONResponse:
        return _json(503, "llm_unavailable", str(exc), {"Retry-After": "10"})

    @app.exception_handler(LLMError)
    async def _llm(_: Request, exc: LLMError) -> JSONResponse:
        return _json(502, "llm_error", str(exc))

    @app.exception_handler(StoreError)
    async def _store(_: Request, exc: StoreError) -> JSONResponse:
        return _json(503, "store_unavailable", str(exc), {"Retry-After": "10"})

    @app.exception_handler(QueryError)
    @app.exception_handler(DigestError)
    @app.exception_handler(ValueError)
    async def _bad(_: Request, exc: Exception) -> JSONResponse:
        return _json(422, "invalid_request", str(exc))

    @app.exception_handler(Exception)
    async def _other(_: Request, exc: Exception) -> JSONResponse:
        return unexpected(exc)


def unexpected(exc: Exception) -> JSONResponse:
    """503 when a server we depend on (Chroma) is unreachable; otherwise a logged 500."""
    if _is_connection_error(exc):
        return _json(
            503,
            "store_unavailable",
            "the Chroma server is unreachable; check VEILLE_CHROMA_URL and that `chroma run` is up",
            {"Retry-After": "10"},
        )
    log.error("unexpected error", exc_info=exc)
    return _json(500, "internal_error", f"unexpected {type(exc).__name__}; see the server log")
