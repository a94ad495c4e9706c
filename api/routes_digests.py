"""/v1/digests: build a briefing for a day or window, or read a stored one (JSON, Markdown or HTML)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response

from api.errors import ApiError
from api.schemas import DigestRequest
from api.services import Services, reader, services, writer
from rag.briefings.digest_models import Digest
from rag.briefings.digest_render import citation_numbers, to_html, to_markdown

router = APIRouter(prefix="/v1/digests", tags=["digests"])


def _respond(d: Digest, fmt: str) -> Response:
    if fmt == "markdown":
        return PlainTextResponse(to_markdown(d), media_type="text/markdown; charset=utf-8")
    if fmt == "html":
        return HTMLResponse(to_html(d))
    body: dict[str, Any] = {**d.to_dict(), "citation_numbers": citation_numbers(d)}
    return JSONResponse(body)


@router.post("", summary="Build (and store) the cited briefing of a day or window")
def build_digest(
    req: DigestRequest, _: Annotated[object, Depends(writer)], svc: Annotated[Services, Depends(services)]
) -> Response:
    d = svc.digest(req.date, req.since, req.until, req.sources, req.lang, req.max_stories)  # ValueError: 422
    return _respond(d, req.format)


@router.get("/{day}", summary="The stored briefing of a day")
def get_digest(
    day: date,
    _: Annotated[object, Depends(reader)],
    svc: Annotated[Services, Depends(services)],
    format: Annotated[Literal["json", "markdown", "html"], Query()] = "json",
    source: Annotated[list[str] | None, Query()] = None,
) -> Response:
    d = svc.digester.stored("digest", day.isoformat(), source or [])
    if d is None:
        raise ApiError(404, "not_found", f'no stored digest for {day}; POST /v1/digests {{"date": "{day}"}} builds one')
    return _respond(d, format)
