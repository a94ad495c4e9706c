"""/v1/articles: ingest (JSON or file upload), list, read, delete."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from api.errors import ApiError
from api.schemas import ArticleBatch, ArticleFull, ArticleIn, ArticleMeta, ArticlePage, IngestResult, ItemStatus
from api.services import Services, reader, services, writer
from index.catalog import ArticleRecord
from index.ingest import WriterBusy
from index.models import Article, Rejection
from index.readers import InputError, ReadOptions, build_article, read_path
from index.store import Filters

router = APIRouter(prefix="/v1/articles", tags=["articles"])


def _meta(r: ArticleRecord) -> dict[str, Any]:
    return {
        "id": r.id,
        "title": r.title,
        "source": r.source,
        "date": r.date,
        "url": r.url,
        "lang": r.lang,
        "chunks": r.n_chunks,
    }


def _ingest(svc: Services, items: list[Article | Rejection]) -> IngestResult:
    out: list[ItemStatus] = []

    def settle(item: Article | Rejection, status: str) -> None:
        if isinstance(item, Rejection):
            out.append(ItemStatus(id=None, status="rejected", reason=str(item)))
        else:
            out.append(ItemStatus(id=item.id, status=status))  # type: ignore[arg-type]

    with svc.write_lock:
        svc.ingestor().ingest(items, on_item=settle)
    return IngestResult(items=out)


def _from_json(payload: Any, opts: ReadOptions) -> list[Article | Rejection]:
    if isinstance(payload, dict) and "articles" in payload:
        records = ArticleBatch.model_validate(payload).articles
    elif isinstance(payload, list):
        records = ArticleBatch.model_validate({"articles": payload}).articles
    else:
        records = [ArticleIn.model_validate(payload)]
    items: list[Article | Rejection] = []
    for i, rec in enumerate(records):
        origin = f"body[{i}]" + (f" ({rec.id})" if rec.id else "")
        try:
            items.append(build_article(rec.model_dump(exclude_none=True), origin, opts))
        except InputError as exc:
            items.append(Rejection(origin, str(exc)))
    return items


@router.post(
    "",
    response_model=IngestResult,
    summary='Add articles: one JSON article, a batch ({"articles": [...]}) or uploaded files (multipart)',
    openapi_extra={
        "requestBody": {
            "content": {
                "application/json": {"schema": ArticleIn.model_json_schema()},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"files": {"type": "array", "items": {"type": "string", "format": "binary"}}},
                    }
                },
            },
            "required": True,
        }
    },
)
async def add_articles(
    request: Request, _: Annotated[object, Depends(writer)], svc: Annotated[Services, Depends(services)]
) -> IngestResult:
    opts = svc.read_options()
    ctype = request.headers.get("content-type", "")
    if ctype.startswith("multipart/form-data"):
        form = await request.form()
        uploads = [v for _, v in form.multi_items() if isinstance(v, UploadFile)]
        if not uploads:
            raise ApiError(422, "invalid_request", "no file in the upload: send files as multipart field 'files'")
        with tempfile.TemporaryDirectory() as tmp:
            items: list[Article | Rejection] = []
            for i, up in enumerate(uploads):
                name = Path(up.filename or f"upload-{i}.txt").name
                path = Path(tmp) / f"{i:03d}-{name}"
                path.write_bytes(await up.read())
                items.extend(read_path(path, opts))
            return await run_in_threadpool(_ingest, svc, items)
    try:
        payload = await request.json()
    except ValueError:
        raise ApiError(
            422, "invalid_request", "the body is not JSON: send an article object, a list, or files"
        ) from None
    items = _from_json(payload, opts)
    return await run_in_threadpool(_ingest, svc, items)


@router.get("", response_model=ArticlePage, summary="List articles, newest first")
def list_articles(
    _: Annotated[object, Depends(reader)],
    svc: Annotated[Services, Depends(services)],
    since: Annotated[str | None, Query(description="YYYY-MM-DD")] = None,
    until: Annotated[str | None, Query(description="YYYY-MM-DD")] = None,
    source: Annotated[list[str] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> ArticlePage:
    try:
        filters = Filters(
            since=date.fromisoformat(since) if since else None,
            until=date.fromisoformat(until) if until else None,
            sources=tuple(source or ()),
        )
    except ValueError as exc:
        raise ApiError(422, "invalid_request", f"bad date filter: {exc}; use YYYY-MM-DD") from None
    svc.store.validate_filters(filters)
    rows = svc.store.articles(filters, limit + 1, offset)
    return ArticlePage(
        items=[ArticleMeta(**_meta(r)) for r in rows[:limit]],
        limit=limit,
        offset=offset,
        next_offset=offset + limit if len(rows) > limit else None,
    )


@router.get("/{article_id}", response_model=ArticleFull, summary="One article with its text")
def get_article(
    article_id: str, _: Annotated[object, Depends(reader)], svc: Annotated[Services, Depends(services)]
) -> ArticleFull:
    rec = svc.store.article(article_id)
    if rec is None:
        raise ApiError(404, "not_found", f"no article with id {article_id!r}")
    return ArticleFull(**_meta(rec), text=rec.text)


@router.delete("/{article_id}", status_code=204, summary="Remove an article everywhere")
def delete_article(
    article_id: str, _: Annotated[object, Depends(writer)], svc: Annotated[Services, Depends(services)]
) -> Response:
    try:
        with svc.write_lock:
            _, missing = svc.ingestor().delete([article_id])
    except WriterBusy as exc:
        raise ApiError(409, "busy", str(exc)) from None
    if missing:
        raise ApiError(404, "not_found", f"no article with id {article_id!r}")
    return Response(status_code=204)
