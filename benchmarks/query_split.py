"""Where a hybrid query's time goes, on an existing store (the scale benchmark's, by default).

    .venv/bin/python -m benchmarks.query_split --queries 200

The same queries as the scale benchmark at the store's size (ledes and titles of a seeded sample of
the ingested articles). For each query, timed separately: the whole hybrid retrieval (the baseline,
`HybridRetriever.retrieve`), the query's embedding, the dense search given that vector (with and
without a ±15-day window), the lexical search (as run, with a date filter every article passes,
which joins each match to its article before ranking, and with a ±15-day window), and the fetch of
the candidates' chunks; then the hybrid retrieval again with the lexical side run in a thread while
the query is embedded. Each part is reported as p50/p95 ms and as a share of the baseline's p50; the
embedding's cost per query word is a least-squares slope over the sample. This is the profile behind
the scale section of benchmarks/README.md: what bounds hybrid latency once the store's own costs are
fixed.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

from benchmarks.retrieval_piaf import DEFAULT_DATA, _pct, load_jsonl_gz, save_report
from benchmarks.scale import DATA_FILE, DATE_WINDOW_DAYS, DEFAULT_STORE, K, around, orangesum_file, query_sample

T = TypeVar("T")
PARTS = (
    "hybrid", "embed", "dense_vector", "dense_vector_date", "lexical", "lexical_joined", "lexical_date", "chunks",
    "hybrid_threaded",
)  # fmt: skip


def _slope(xs: list[float], ys: list[float]) -> tuple[float, float]:
    """Least-squares y = a + b·x: (a, b)."""
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    var = sum((x - mx) ** 2 for x in xs)
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / var if var else 0.0
    return my - b * mx, b


def measure(store: Any, sample: list[dict[str, Any]], field: str) -> dict[str, Any]:
    from index.store import Filters
    from rag.retrieval import HybridRetriever

    retriever = HybridRetriever(store)
    n = max(store.settings.candidates, K)
    everything = Filters()
    # A date filter no article falls outside: the same hits by the query that joins before ranking.
    all_dates = Filters(since=date(1900, 1, 1))
    retriever.retrieve(sample[0][field], k=K, mode="rrf")  # opens the collection and the FTS index
    pool = ThreadPoolExecutor(max_workers=1)
    pool.submit(lambda: None).result()  # the thread exists before the first timing

    def threaded(query: str) -> None:
        lexical = pool.submit(store.search_lexical, query, n, everything)
        dense = store.search_dense(query, n, everything)
        store.chunks([h.chunk_id for h in dense] + [h.chunk_id for h in lexical.result()])

    ms: dict[str, list[float]] = {p: [] for p in PARTS}
    words: list[float] = []

    def timed(part: str, fn: Callable[[], T]) -> T:
        t = time.perf_counter()
        out = fn()
        ms[part].append((time.perf_counter() - t) * 1000)
        return out

    for i, r in enumerate(sample):
        q = r[field]
        day = date.fromisoformat(r["date"])
        window = around(day, DATE_WINDOW_DAYS)
        words.append(len(q.split()))
        # The two whole-query timings alternate first and last, so neither always meets warmer caches.
        if i % 2:
            timed("hybrid_threaded", lambda: threaded(q))  # noqa: B023
        timed("hybrid", lambda: retriever.retrieve(q, k=K, mode="rrf"))  # noqa: B023
        vec = timed("embed", lambda: store.embedder.embed_query(q))  # noqa: B023
        dense = timed("dense_vector", lambda: store.search_vector(vec, n, everything))  # noqa: B023
        timed("dense_vector_date", lambda: store.search_vector(vec, n, window))  # noqa: B023
        lexical = timed("lexical", lambda: store.search_lexical(q, n, everything))  # noqa: B023
        timed("lexical_joined", lambda: store.search_lexical(q, n, all_dates))  # noqa: B023
        timed("lexical_date", lambda: store.search_lexical(q, n, window))  # noqa: B023
        ids = [h.chunk_id for h in dense] + [h.chunk_id for h in lexical]
        timed("chunks", lambda: store.chunks(ids))  # noqa: B023
        if not i % 2:
            timed("hybrid_threaded", lambda: threaded(q))  # noqa: B023
    pool.shutdown()
    base = _pct(ms["hybrid"], 50)
    intercept, per_word = _slope(words, ms["embed"])
    return {
        "queries": len(sample),
        "words_mean": sum(words) / len(words),
        "parts": {p: {"p50": _pct(v, 50), "p95": _pct(v, 95), "share": _pct(v, 50) / base} for p, v in ms.items()},
        "embed_ms_per_word": per_word,
        "embed_ms_intercept": intercept,
        "embed_points": [[w, e] for w, e in zip(words, ms["embed"], strict=True)],
    }


def run(store_dir: Path, data: Path, n_queries: int) -> dict[str, Any]:
    from index.store import Store
    from veille.settings import Settings

    if not (store_dir / "veille.sqlite3").exists():
        sys.exit(f"{store_dir} holds no Veille store: run the scale benchmark first")
    store = Store(Settings(data_dir=store_dir))
    counts = store.catalog.counts()
    articles = counts.get("articles_complete", 0)
    if not articles:
        sys.exit(f"{store_dir} holds no complete article: run the scale benchmark first")
    # The scale benchmark ingests the file in order, so its first `articles` records are the store's.
    records = [r for r in load_jsonl_gz(data, articles) if r.get("title", "").strip()]
    sample = query_sample(records, n_queries)
    if not sample:
        sys.exit(f"no usable query among the first {articles} records of {data}")
    out = {
        "store_articles": articles,
        "store_chunks": counts.get("chunks", 0),
        "fields": {field: measure(store, sample, field) for field in ("lede", "title")},
    }
    store.close()
    return out


LABELS = {
    "hybrid": "hybrid retrieval (baseline)",
    "embed": "query embedding",
    "dense_vector": "dense search, given the vector",
    "dense_vector_date": "dense search, given the vector, ±15 days",
    "lexical": "lexical search",
    "lexical_joined": "lexical search, each match joined to its article before ranking (a date filter all pass)",
    "lexical_date": "lexical search, ±15 days",
    "chunks": "fetch of the candidates' chunks",
    "hybrid_threaded": "hybrid, lexical in a thread during the embedding (no fusion or passages)",
}


def render(result: dict[str, Any]) -> str:
    m = result["machine"]
    lede, title = result["fields"]["lede"], result["fields"]["title"]
    lines = [
        "# Where a hybrid query's time goes",
        "",
        f"{result['date']}: `{result['command']}` ({result['code']}); {m['nproc']} cores ({m['cpu']}), "
        f"{m['ram_gb']} GB RAM. Store: {result['store_articles']:,} articles, {result['store_chunks']:,} chunks; "
        f"{lede['queries']} ledes ({lede['words_mean']:.0f} words on average) and their titles "
        f"({title['words_mean']:.0f} words). Each part timed on its own; share = its p50 / the baseline's p50.",
        "",
        "| part | ledes p50 / p95 ms | share | titles p50 / p95 ms | share |",
        "|---|---|---:|---|---:|",
    ]
    for p in PARTS:
        a, b = lede["parts"][p], title["parts"][p]
        lines.append(
            f"| {LABELS[p]} | {a['p50']:.1f} / {a['p95']:.1f} | {a['share']:.2f} | "
            f"{b['p50']:.1f} / {b['p95']:.1f} | {b['share']:.2f} |"
        )
    both = [result["fields"][f] for f in ("lede", "title")]
    points = [pt for r in both for pt in r["embed_points"]]
    a, b = _slope([w for w, _ in points], [e for _, e in points])
    lines += [
        "",
        "Query embedding against query length (least squares over each sample): "
        + "; ".join(
            f"{f}: {r['embed_ms_intercept']:.1f} ms + {r['embed_ms_per_word']:.2f} ms per word"
            for f, r in zip(("ledes", "titles"), both, strict=True)
        )
        + f"; both samples together: {a:.1f} ms + {b:.2f} ms per word.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--store", type=Path, default=DEFAULT_STORE, help="an ingested store (its data folder)")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help=f"folder with {DATA_FILE}, or the file itself")
    ap.add_argument("--queries", type=int, default=200)
    args = ap.parse_args(argv)
    path = orangesum_file(args.data)
    if path is None:
        return 0
    if args.queries < 1:
        ap.error("--queries must be at least 1")
    result = run(args.store, path, args.queries)
    save_report("query_split", result, render, argv)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
