"""The `veille` command: a thin shell over index/ and rag/."""

from __future__ import annotations

import json
import threading
import time
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from index.models import Article, Rejection
from index.readers import iter_files, read_path
from index.store import Filters
from index.vectors import StoreError
from veille.settings import get_settings

if TYPE_CHECKING:
    from rag.service import Veille

app = typer.Typer(help="Veille: cited answers and briefings over French news.", no_args_is_help=True)
console = Console()
err = Console(stderr=True)


def _date(value: str | None, option: str) -> date | None:
    if not value:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date; write it as YYYY-MM-DD", param_hint=option) from None


def _app(ctx: typer.Context) -> Veille:
    """The application service with its store open, closed when the command ends however it ends."""
    from rag.service import Veille

    try:
        app_ = Veille(get_settings())  # ValueError: an unknown VEILLE_LLM, a plugin that does not import
    except ValueError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    ctx.call_on_close(app_.close)
    try:
        app_.store  # noqa: B018  (opened now, so a locked or mismatched folder is said before any work)
    except StoreError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    return app_


def _filters(since: str | None, until: str | None, source: list[str] | None) -> Filters:
    try:
        return Filters(_date(since, "--since"), _date(until, "--until"), tuple(source or ()))
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


@app.command()
def ingest(
    ctx: typer.Context,
    paths: Annotated[list[Path], typer.Argument(help="Files or folders (.txt .md .html .json .jsonl[.gz])")],
    source: Annotated[str | None, typer.Option(help="Source for articles that name none")] = None,
    date_: Annotated[str | None, typer.Option("--date", help="Date (YYYY-MM-DD) for articles that have none")] = None,
    encoding: Annotated[str, typer.Option(help="Encoding of the input files")] = "utf-8",
    lang: Annotated[str | None, typer.Option(help="Language for articles that name none (else detected)")] = None,
) -> None:
    """Add articles to the index; unchanged ones are skipped, changed ones replaced."""
    _date(date_, "--date")
    service = _app(ctx)
    opts = service.read_options(encoding, source or "", date_ or "", lang or "")
    files = list(iter_files(paths))
    try:
        ingestor = service.ingestor()
    except StoreError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    if ingestor.recovered:
        console.print(f"Cleaned up {len(ingestor.recovered)} article(s) left half-indexed by an interrupted run.")

    def items(progress: Progress, task: int) -> object:
        for f in files:
            if isinstance(f, Rejection):
                yield f
            else:
                yield from read_path(f, opts)
            progress.advance(task)  # type: ignore[arg-type]

    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("files · {task.fields[articles]} articles"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
        disable=not console.is_terminal,
    ) as progress:
        task = progress.add_task("Ingesting", total=len(files), articles=0)
        seen = 0

        def on_item(item: Article | Rejection, status: str) -> None:
            nonlocal seen
            seen += 1
            progress.update(task, articles=seen)
            if isinstance(item, Rejection):
                err.print(f"[yellow]rejected[/yellow] {item}")

        try:
            report = ingestor.ingest(items(progress, task), on_item=on_item)  # type: ignore[arg-type]
        except StoreError as exc:
            err.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from None
    nothing_new = not report.added and not report.replaced
    console.print(
        f"{report.summary()}" + (" — the index already had all of it." if nothing_new and report.unchanged else "")
    )
    if report.rejected and not (report.added or report.replaced or report.unchanged):
        raise typer.Exit(1)


@app.command()
def search(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(help="A question or keywords")],
    k: Annotated[int, typer.Option("-k", help="How many passages")] = 5,
    since: Annotated[str | None, typer.Option(help="Only articles from this date (YYYY-MM-DD)")] = None,
    until: Annotated[str | None, typer.Option(help="Only articles up to this date (YYYY-MM-DD)")] = None,
    source: Annotated[list[str] | None, typer.Option(help="Only this source (repeatable)")] = None,
    mode: Annotated[str | None, typer.Option(help="rrf (hybrid, default), dense or lexical")] = None,
    recency: Annotated[float | None, typer.Option(help="Prefer recent articles: half-life in days")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Hybrid search: print the best passages with their article, date and score."""
    from rag.retrieval import QueryError

    filters = _filters(since, until, source)
    service = _app(ctx)
    try:
        passages = service.search(query, k=k, filters=filters, mode=mode, recency_half_life_days=recency)
    except (QueryError, ValueError, StoreError) as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    if as_json:
        console.print_json(json.dumps([p.__dict__ for p in passages], ensure_ascii=False))
        return
    if not passages:
        console.print("No passage matches.")
        return
    for rank, p in enumerate(passages, start=1):
        where = f"{p.source or 'unknown source'}, {p.date or 'undated'}"
        head = f"[bold][{rank}][/bold] {p.title or p.article_id} — {where}"
        console.print(f"{head}  [dim]score {p.score:.4f} · {p.chunk_id} · chars {p.start}-{p.end}[/dim]")
        console.print(f"    {p.text}\n", highlight=False)


@app.command()
def ask(
    ctx: typer.Context,
    question: Annotated[str, typer.Argument(help="A question about the articles")],
    since: Annotated[str | None, typer.Option(help="Only articles from this date (YYYY-MM-DD)")] = None,
    until: Annotated[str | None, typer.Option(help="Only articles up to this date (YYYY-MM-DD)")] = None,
    source: Annotated[list[str] | None, typer.Option(help="Only this source (repeatable)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the structured answer as JSON")] = False,
    stream: Annotated[bool, typer.Option(help="Show the answer as it is written")] = True,
) -> None:
    """Answer a question from the articles, with citations, or say the sources do not say."""
    from dataclasses import asdict

    from rag.generation.llm import LLMError
    from rag.retrieval import QueryError

    filters = _filters(since, until, source)
    service = _app(ctx)
    final = None
    live = stream and not as_json and console.is_terminal
    try:
        shown = ""
        for event in service.ask(question, filters=filters):
            if event.kind == "answer" and live:
                console.print(event.text[len(shown) :], end="", highlight=False, soft_wrap=True)
                shown = event.text
            elif event.kind == "final":
                final = event.answer
    except (QueryError, ValueError, StoreError, LLMError) as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    assert final is not None
    if live and shown:
        console.print("\n[dim](verified:)[/dim]")
    if as_json:
        # What was shown is in `passages`; the whole ranked list (`retrieved`) is for the evals.
        out = {k: v for k, v in asdict(final).items() if k != "retrieved"}
        console.print_json(json.dumps(out, ensure_ascii=False, default=str))
        return
    console.print(final.text, highlight=False)
    if final.mode == "extractive" and not final.refused:
        if final.llm_calls:
            console.print("[dim](quoted: the sentence the model named; its own words did not pass verification)[/dim]")
        else:
            console.print("[dim](extractive: quoted from the sources, no language model)[/dim]")
    if final.refused:
        console.print(f"[dim]({final.refusal_reason})[/dim]")
        if final.passages:
            console.print("Closest passages:" if final.lang == "en" else "Passages les plus proches :")
            for p in final.passages[:3]:
                console.print(f"  - {p.title or p.article_id} ({p.source}, {p.date}): {p.text[:160]}…", highlight=False)
        return
    console.print("")
    for c in final.citations:
        console.print(f"[bold][{c.n}][/bold] {c.title or c.article_id} — {c.source or '?'}, {c.date or 'undated'}")
        console.print(f"    « {c.quote} »", highlight=False)
    t = final.timings
    console.print(f"[dim]{t.get('total_s', 0):.1f} s, {final.prompt_tokens or '?'} prompt tokens[/dim]")


def _bar() -> Progress:
    """The progress bar every long command shows (on stderr, gone when done)."""
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    )


def _emit_digest(digest: object, fmt: str, out: Path | None) -> None:
    from rag.briefings.digest_render import render

    try:
        text = render(digest, fmt)  # type: ignore[arg-type]
    except ValueError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    if out is None:
        console.print(text, highlight=False, markup=False, soft_wrap=True)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    err.print(f"written to {out}")


def _run_digest(build: object) -> object:
    """Run a digest build with a progress bar over the stories being written."""
    from rag.briefings.digests import DigestError
    from rag.generation.llm import LLMError

    with _bar() as progress:
        task = progress.add_task("grouping stories", total=None)

        def on_progress(done: int, total: int, label: str) -> None:
            progress.update(task, completed=done, total=total, description=f"writing: {label[:50]}")

        try:
            return build(on_progress)  # type: ignore[operator]
        except (DigestError, ValueError, StoreError, LLMError) as exc:
            progress.stop()
            err.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from None


Format = Annotated[str, typer.Option("--format", "-f", help="md, json or html")]
OutFile = Annotated[Path | None, typer.Option("--out", help="Write to this file instead of the terminal")]
Lang = Annotated[str | None, typer.Option(help="Language of the briefing (fr, en); default: the articles'")]


@app.command()
def digest(
    ctx: typer.Context,
    day: Annotated[str | None, typer.Option("--date", help="The day to brief (YYYY-MM-DD)")] = None,
    since: Annotated[str | None, typer.Option(help="Window start (YYYY-MM-DD), instead of --date")] = None,
    until: Annotated[str | None, typer.Option(help="Window end (YYYY-MM-DD)")] = None,
    source: Annotated[list[str] | None, typer.Option(help="Only this source (repeatable)")] = None,
    lang: Lang = None,
    max_stories: Annotated[int, typer.Option(help="Stories written; the rest are listed")] = 8,
    fmt: Format = "md",
    out: OutFile = None,
) -> None:
    """A cited briefing of the articles of a day or window: stories merged across outlets."""
    from rag.service import digest_window

    d, s, u = _date(day, "--date"), _date(since, "--since"), _date(until, "--until")
    try:
        digest_window(d, s, u)
    except ValueError as exc:
        err.print(f"[red]error:[/red] {exc}: the options --date, or --since and --until")
        raise typer.Exit(2) from None
    service = _app(ctx)
    result = _run_digest(lambda p: service.digest(d, s, u, source or [], lang, max_stories, p))
    _emit_digest(result, fmt, out)


@app.command()
def brief(
    ctx: typer.Context,
    topic: Annotated[str, typer.Argument(help='What the briefing is about, e.g. "négociations Ukraine"')],
    since: Annotated[str | None, typer.Option(help="Only articles from this date (YYYY-MM-DD)")] = None,
    until: Annotated[str | None, typer.Option(help="Only articles up to this date (YYYY-MM-DD)")] = None,
    source: Annotated[list[str] | None, typer.Option(help="Only this source (repeatable)")] = None,
    lang: Lang = None,
    max_stories: Annotated[int, typer.Option(help="Stories written; the rest are listed")] = 5,
    fmt: Format = "md",
    out: OutFile = None,
) -> None:
    """A cited briefing on a topic, over the articles that match it."""
    s, u = _date(since, "--since"), _date(until, "--until")
    digester = _app(ctx).digester
    result = _run_digest(lambda p: digester.brief(topic, s, u, source or [], lang, max_stories, progress=p))
    _emit_digest(result, fmt, out)


@app.command()
def summarize(
    ctx: typer.Context,
    article_id: Annotated[str, typer.Argument(help="An article id (see `veille search`)")],
    lang: Lang = None,
    fmt: Format = "md",
    out: OutFile = None,
) -> None:
    """A cited summary of one article."""
    digester = _app(ctx).digester
    result = _run_digest(lambda p: digester.summarize(article_id, lang))
    _emit_digest(result, fmt, out)


@app.command("eval")
def eval_(
    gold: Annotated[list[str], typer.Argument(help="Gold files (YAML/JSONL) or piaf:PATH[:N]")],
    report: Annotated[Path | None, typer.Option("--report", help="Folder for the JSON and Markdown reports")] = None,
    baseline: Annotated[Path | None, typer.Option(help="A previous JSON report to diff against")] = None,
    thresholds: Annotated[Path | None, typer.Option(help="YAML of metric: '>= value' / '<= value'")] = None,
    fail_under: Annotated[list[str] | None, typer.Option(help="metric=value: fail below it (repeatable)")] = None,
    judge: Annotated[bool, typer.Option(help="Add the LLM-judge tier (reported, never gating)")] = False,
) -> None:
    """Run gold sets through the pipeline and report every metric; exit 1 when a threshold fails."""
    from evals.evaluate import evaluate
    from evals.gold import GoldError

    with _bar() as progress:
        task = progress.add_task("loading", total=None)

        def on_progress(item: str, done: int, total: int) -> None:
            progress.update(task, completed=done, total=total, description=item[:40])

        try:
            outcomes = evaluate(gold, get_settings(), thresholds, fail_under, baseline, report, judge, on_progress)
        except (GoldError, ValueError, StoreError, OSError) as exc:
            progress.stop()
            err.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from None
    failed = False
    for o in outcomes:
        table = Table(title=f"{o.name} ({len(o.items)} items)")
        table.add_column("metric")
        table.add_column("value", justify="right")
        table.add_column("threshold")
        deltas = (o.report.get("baseline_diff") or {}).get("deltas", {})
        if deltas:
            table.add_column("vs baseline", justify="right")
        for k, v in o.report["metrics"].items():
            row = [k, "n/a" if v is None else f"{v:.3f}", o.report["thresholds"].get(k, "")]
            if deltas:
                d = deltas.get(k)
                row.append("" if d is None else f"{d:+.3f}")
            table.add_row(*row)
        console.print(table)
        if o.paths:
            console.print(f"reports: {o.paths[0]} {o.paths[1]}")
        regressed = (o.report.get("baseline_diff") or {}).get("regressed")
        if regressed:
            console.print(f"regressed since the baseline: {', '.join(regressed)}")
        for f in o.failures:
            failed = True
            err.print(f"[red]FAILED[/red] {o.name}: {f}")
    if failed:
        raise typer.Exit(1)


keys_app = typer.Typer(help="API keys (only their sha256 is kept in VEILLE_API_KEYS)")
app.add_typer(keys_app, name="keys")


@keys_app.command("create")
def keys_create(scope: Annotated[str, typer.Option(help="read or write")] = "read") -> None:
    """Print a new API key (shown once) and the VEILLE_API_KEYS entry that accepts it."""
    from veille.keys import new_key

    try:
        key, entry = new_key(scope)
    except ValueError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    console.print(f"key (give it to the client, it is not stored): {key}")
    console.print(f"add to VEILLE_API_KEYS (comma-separated): {entry}")


def _warm_up(service: Veille) -> None:
    """In the background while the server starts; a model that cannot load now is reported by the
    first question instead (503 llm_unavailable), so this only says so."""
    t = time.perf_counter()
    try:
        service.warm_up()
    except Exception as exc:  # whatever the backend raises: the server keeps serving
        err.print(f"model warm-up failed ({exc}); the first question will try again")
        return
    err.print(f"model ready: loaded and warmed up in {time.perf_counter() - t:.1f} s")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface (default VEILLE_HOST, 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default VEILLE_PORT, 8000)")] = None,
) -> None:
    """Run the HTTP API and the web page (uvicorn)."""
    import uvicorn

    from api.app import create_app
    from veille.keys import exposure_notice

    settings = get_settings()
    bind = host or settings.host
    try:
        notice = exposure_notice(bind, settings.api_keys)
    except ValueError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    if notice:
        err.print(notice)
    try:
        # The app checks the bind it is configured with: here, the one this command listens on.
        application = create_app(settings.model_copy(update={"host": bind}))
    except (StoreError, ValueError) as exc:  # ValueError: an unknown VEILLE_LLM, a broken plugin
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    if settings.warm_up and settings.llm != "none":
        threading.Thread(target=_warm_up, args=(application.state.services,), name="warm-up", daemon=True).start()
    url = f"http://{bind}:{port or settings.port}"
    console.print(f"Veille on {url}/  (API docs: {url}/docs)")
    console.print(
        f"  curl -s {url}/v1/answers -H 'Content-Type: application/json' "
        '-d \'{"question": "Qui dirige la délégation russe ?"}\''
    )
    uvicorn.run(application, host=bind, port=port or settings.port, log_level="info")


@app.command()
def stats(ctx: typer.Context) -> None:
    """What the index holds."""
    try:
        info = _app(ctx).stats()
    except StoreError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    table = Table(show_header=False)
    for key, value in info.items():
        table.add_row(key, json.dumps(value, ensure_ascii=False) if isinstance(value, dict) else str(value))
    console.print(table)


@app.command("rebuild-vectors")
def rebuild_vectors(ctx: typer.Context) -> None:
    """Write the vector index (Chroma) again from the catalog's copies, nothing re-embedded: the
    repair when Chroma errors on its files or they were lost. Stop other writers first."""
    from index.rebuild import rebuild_vectors as rebuild

    store = _app(ctx).store
    with _bar() as progress:
        task = progress.add_task("rebuilding the vector index", total=None)
        try:
            report = rebuild(store, lambda done, total: progress.update(task, completed=done, total=total))
        except StoreError as exc:
            progress.stop()
            err.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from None
    console.print(
        f"Rebuilt the collection {store.settings.collection!r}: {report.chunks} chunks"
        + (f", {report.embedded} embedded again (no copy kept by an older version)" if report.embedded else "")
        + (f", {report.reconciled} written or removed since by another writer" if report.reconciled else "")
        + (f", {report.freed_bytes / 2**20:.1f} MB of the old index's files removed" if report.freed_bytes else "")
        + f". Vectors: {store.vectors.count()}."
    )


@app.command()
def delete(ctx: typer.Context, ids: Annotated[list[str], typer.Argument(help="Article ids")]) -> None:
    """Remove articles from the vector and lexical indexes."""
    from index.ingest import WriterBusy

    service = _app(ctx)
    try:
        deleted, missing = service.ingestor().delete(ids)
    except (StoreError, WriterBusy) as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    for i in deleted:
        console.print(f"deleted {i}")
    for i in missing:
        err.print(f"[yellow]unknown article id[/yellow] {i}")
    if missing and not deleted:
        raise typer.Exit(1)


if __name__ == "__main__":
    app()
