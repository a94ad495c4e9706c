"""The FastAPI application: routes, one error shape, body limits, metrics, health and the web page."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import errors
from api.errors import BodyTooLarge, error_body
from api.routes_answers import router as answers_router
from api.routes_articles import router as articles_router
from api.routes_digests import router as digests_router
from api.schemas import ErrorOut
from api.services import Services, reader, services
from rag.generation.llm import ChatLLM
from veille.keys import exposure_notice
from veille.settings import Settings

WEB = Path(__file__).resolve().parent / "web"


class BodyLimit:
    """413 before reading a body over the limit, whether it declares its length or streams it."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._reject(send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge(self.message)
            return message

        try:
            await self.app(scope, counted, send)
        except BodyTooLarge:
            await self._reject(send)

    @property
    def message(self) -> str:
        mb = self.max_bytes / 1024 / 1024
        return f"the body is over {mb:g} MB; split the batch or raise VEILLE_MAX_BODY_MB"

    async def _reject(self, send: Send) -> None:
        response = JSONResponse(error_body("payload_too_large", self.message), status_code=413)
        await response({"type": "http"}, _noop_receive, send)


async def _noop_receive() -> Message:
    return {"type": "http.disconnect"}


def create_app(settings: Settings, llm: ChatLLM | None = None) -> FastAPI:
    app = FastAPI(
        title="Veille",
        version="0.1.0",
        description=(
            "French-first news intelligence: ingest articles, ask questions answered with verified [n] "
            "citations (or an honest refusal), and build cited daily briefings. Errors share one shape: "
            '{"error": {"code", "message"}}. With VEILLE_API_KEYS set, send Authorization: Bearer <key>.'
        ),
        responses={
            401: {"model": ErrorOut},
            413: {"model": ErrorOut},
            422: {"model": ErrorOut},
            429: {"model": ErrorOut},
            503: {"model": ErrorOut},
        },
    )
    # The same rule as `veille serve`, for an app served by any other means: without keys, only a
    # loopback address may be configured.
    exposure_notice(settings.host, settings.api_keys)
    svc = Services(settings, llm)
    svc.store  # open the store now: the first requests should not race to open it  # noqa: B018
    app.state.services = svc
    errors.install(app)
    origins = [o.strip() for o in settings.cors_origins.split(",") if o.strip()]
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-API-Key"],
        )
    app.add_middleware(BodyLimit, max_bytes=int(settings.max_body_mb * 1024 * 1024))

    @app.middleware("http")
    async def measure(request: Request, call_next: Any) -> Response:
        t = time.perf_counter()
        try:
            response: Response = await call_next(request)
        except Exception as exc:  # answered here, so the connection stays usable (no re-raise to uvicorn)
            response = errors.unexpected(exc)
        route = request.scope.get("route")
        path = getattr(route, "path", "unmatched")
        svc.metrics.requests.labels(request.method, path, str(response.status_code)).inc()
        svc.metrics.latency.labels(path).observe(time.perf_counter() - t)
        return response

    app.include_router(articles_router)
    app.include_router(answers_router)
    app.include_router(digests_router)

    @app.get("/healthz", tags=["ops"], summary="The process is up")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["ops"], summary="Store, embedder and LLM reachable")
    def readyz(s: Annotated[Services, Depends(services)]) -> JSONResponse:
        r = s.readiness()
        body = {"ready": r.ready, "checks": r.checks, "llm": r.llm}
        return JSONResponse(body, status_code=200 if r.ready else 503)

    @app.get("/metrics", tags=["ops"], summary="Prometheus metrics")
    def metrics(_: Annotated[object, Depends(reader)]) -> Response:
        return Response(generate_latest(svc.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(WEB / "index.html", media_type="text/html; charset=utf-8")

    return app
