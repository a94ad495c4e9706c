"""Date-filtered dense search by window width: Chroma's own filter (the baseline) against every
vector held in memory and scored exactly, the exact search over the catalog's copy of the window's
vectors and the unfiltered search over-fetched then filtered, on an existing store (the scale
benchmark's, by default).

    .venv/bin/python -m benchmarks.filtered_dense --queries 100

For each width (days either side of a sampled article's date): the window's chunks, p50/p95 ms of
each path on the same query vectors (embedded once, outside the timings), each path's time as a
ratio of Chroma's filter, and how many of Chroma's hits each path returns (overlap@50); and what
holding the vectors costs: the time to load them and the resident memory they add. This is what
`VEILLE_DENSE_RESIDENT_MAX_CHUNKS`, `VEILLE_DENSE_EXACT_MAX_CHUNKS` and the over-fetch bound in
index/store.py were chosen from.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

from benchmarks.retrieval_piaf import _pct, _status_mb, save_report
from benchmarks.scale import DEFAULT_STORE, SEED, around

WIDTHS = (1, 7, 15, 45, 91, 182, 365)
LIMIT = 50  # the retriever's candidates per side


def _ms(fn: Any) -> tuple[float, Any]:
    t = time.perf_counter()
    out = fn()
    return (time.perf_counter() - t) * 1000, out


def run(store_dir: Path, n_queries: int) -> dict[str, Any]:
    from index.store import Filters, Store
    from veille.settings import Settings

    store = Store(Settings(data_dir=store_dir))
    catalog, vectors = store.catalog, store.vectors
    if not catalog.vectors_copied():
        sys.exit("this store's vectors are not copied into its catalog yet: run an ingestion with this version")
    articles = [a for a in store.articles(Filters()) if a.date]
    sample = random.Random(SEED).sample(articles, min(n_queries, len(articles)))
    queries = [(date.fromisoformat(a.date), store.embedder.embed_query(a.title or a.text[:200])) for a in sample]
    vectors.search(queries[0][1], LIMIT)  # opens the collection
    resident = store.resident
    if resident is None:
        sys.exit("VEILLE_DENSE_RESIDENT_MAX_CHUNKS is 0: nothing would be held in memory")
    rss_before = _status_mb("VmRSS")
    load_ms, _ = _ms(lambda: resident.search(queries[0][1], LIMIT, None, None, ()))
    held = {"load_ms": load_ms, "rows": resident.rows, "rss_added_mb": _status_mb("VmRSS") - rss_before}
    if not resident.rows:
        sys.exit("the store's vectors could not be held (over VEILLE_DENSE_RESIDENT_MAX_CHUNKS, or a copy missing)")
    rows = []
    for width in WIDTHS:
        times: dict[str, list[float]] = {"chroma": [], "memory": [], "exact": [], "overfetch": []}
        overlap = {"memory": 0.0, "exact": 0.0, "overfetch": 0.0}
        sizes: list[float] = []
        fallbacks = 0
        for day, vec in queries:
            window = around(day, width)
            since, until = window.since_int, window.until_int
            ms, base = _ms(lambda: vectors.search(vec, LIMIT, since, until))  # noqa: B023
            times["chroma"].append(ms)
            expected = {h.chunk_id for h in base}

            ms, held_hits = _ms(lambda: resident.search(vec, LIMIT, since, until, ()))  # noqa: B023
            times["memory"].append(ms)
            overlap["memory"] += len(expected & {h.chunk_id for h in held_hits or []}) / max(1, len(expected))
            ms, hits = _ms(lambda: store.dense_exact(vec, LIMIT, window))  # noqa: B023
            times["exact"].append(ms)
            overlap["exact"] += len(expected & {h.chunk_id for h in hits or []}) / max(1, len(expected))
            in_window, total = catalog.estimate_chunks(since, until, None)
            sizes.append(in_window)
            ms, got = _ms(lambda: store.dense_overfetched(vec, LIMIT, window, in_window / total))  # noqa: B023
            if got is None:  # the search then asks Chroma's filter: its time is both
                fallbacks += 1
                ms2, got = _ms(lambda: vectors.search(vec, LIMIT, since, until))  # noqa: B023
                ms += ms2
            times["overfetch"].append(ms)
            overlap["overfetch"] += len(expected & {h.chunk_id for h in got}) / max(1, len(expected))
        n = len(queries)
        chroma_p50 = _pct(times["chroma"], 50)
        rows.append(
            {
                "days": width,
                "window_chunks_p50": _pct(sizes, 50),
                "store_chunks": catalog.counts().get("chunks", 0),
                **{f"{k}_p50_ms": _pct(v, 50) for k, v in times.items()},
                **{f"{k}_p95_ms": _pct(v, 95) for k, v in times.items()},
                **{f"{k}_ratio": _pct(times[k], 50) / chroma_p50 for k in ("memory", "exact", "overfetch")},
                **{f"{k}_overlap": v / n for k, v in overlap.items()},
                "overfetch_fallbacks": fallbacks,
            }
        )
        print(f"  ±{width} d: {rows[-1]}", file=sys.stderr, flush=True)
    counts = catalog.counts()
    store.close()
    return {"queries": len(queries), "store_articles": counts.get("articles_complete", 0), "held": held, "rows": rows}


def render(result: dict[str, Any]) -> str:
    m = result["machine"]
    lines = [
        "# Date-filtered dense search by window width",
        "",
        f"{result['date']}: `{result['command']}` ({result['code']}); {m['nproc']} cores ({m['cpu']}), "
        f"{m['ram_gb']} GB RAM. Store: {result['store_articles']:,} articles, "
        f"{result['rows'][0]['store_chunks']:,} chunks; {result['queries']} query vectors (article titles), "
        f"{LIMIT} hits each; window = ±days around the article's date.",
        "",
        "Baseline: Chroma's own filter (`where` on the date). Ratios: p50 time / the baseline's p50.",
        "Overlap: the share of the baseline's hits the path also returns. In memory: every vector of the "
        "store held (`VEILLE_DENSE_RESIDENT_MAX_CHUNKS`); exact: the window's vectors read from the catalog.",
        "",
        *_held_line(result),
        "| ± days | window chunks (p50, estimated) | Chroma filter p50/p95 ms | in memory p50/p95 ms "
        "| in memory ratio | in memory overlap | exact p50/p95 ms | exact ratio "
        "| exact overlap | over-fetch p50/p95 ms | over-fetch ratio | over-fetch overlap | over-fetch fell back |",
        "|---:|---:|---|---|---:|---:|---|---:|---:|---|---:|---:|---:|",
    ]
    for r in result["rows"]:
        lines.append(
            f"| {r['days']} | {r['window_chunks_p50']:,.0f} | {r['chroma_p50_ms']:.1f} / {r['chroma_p95_ms']:.1f} | "
            f"{r['memory_p50_ms']:.1f} / {r['memory_p95_ms']:.1f} | {r['memory_ratio']:.3f} | "
            f"{r['memory_overlap']:.3f} | "
            f"{r['exact_p50_ms']:.1f} / {r['exact_p95_ms']:.1f} | {r['exact_ratio']:.2f} | {r['exact_overlap']:.3f} | "
            f"{r['overfetch_p50_ms']:.1f} / {r['overfetch_p95_ms']:.1f} | {r['overfetch_ratio']:.2f} | "
            f"{r['overfetch_overlap']:.3f} | {r['overfetch_fallbacks']} / {result['queries']} |"
        )
    return "\n".join(lines) + "\n"


def _held_line(result: dict[str, Any]) -> list[str]:
    held = result.get("held")
    if not held:  # a report from before the vectors were held
        return []
    return [
        f"Holding the store's vectors: {held['rows']:,} rows loaded in {held['load_ms'] / 1000:.2f} s "
        f"(the first filtered search pays it), {held['rss_added_mb']:.0f} MB more resident memory.",
        "",
    ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--store", type=Path, default=DEFAULT_STORE, help="an ingested store (its data folder)")
    ap.add_argument("--queries", type=int, default=100)
    args = ap.parse_args(argv)
    result = run(args.store, args.queries)
    save_report("filtered_dense", result, render, argv)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
