"""Questions asked while the same process ingests (the API's case: one store, one embedder).

    .venv/bin/python -m benchmarks.query_during_ingest --more 120

Each variant runs in a fresh process on a fresh store holding the first `--seed` OrangeSum articles.
Baselines: hybrid retrieval of the next articles' titles with nothing else running (latency), and
the ingestion of the next `--more` articles alone (`Ingestor`, default batch; chunks/s). Then the
ingestion again with a title asked every half second until it ends, for the embedder as it is
(questions and ingestion batches embedded at once) and for the same embedder behind one lock for
both calls (how it was before: a question waits for the batch in progress). Reported: hybrid
p50/p95/max ms and ratio to the baseline's p95, and the ingestion's chunks/s and ratio to its own.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from benchmarks.retrieval_piaf import DEFAULT_DATA, _pct, in_fresh_process, load_jsonl_gz, save_report
from benchmarks.scale import DATA_FILE, K, _article, orangesum_file

SPACING_S = 0.5


class _Serialised:
    """The embedder with one lock around both calls: the behaviour before 2026-11-23."""

    def __init__(self, embedder: Any) -> None:
        self._embedder, self._lock = embedder, threading.Lock()
        self.name, self.dim = embedder.name, embedder.dim

    def embed_passages(self, texts: list[str]) -> Any:
        with self._lock:
            return self._embedder.embed_passages(texts)

    def embed_query(self, text: str) -> Any:
        with self._lock:
            return self._embedder.embed_query(text)


def _stats(ms: list[float]) -> dict[str, float]:
    return {"p50": _pct(ms, 50), "p95": _pct(ms, 95), "max": max(ms)}


def run_variant(cfg: dict[str, Any]) -> dict[str, Any]:
    from index.ingest import Ingestor
    from index.store import Store
    from rag.retrieval import HybridRetriever
    from veille.settings import Settings

    records = load_jsonl_gz(Path(cfg["data"]), cfg["seed"] + cfg["more"])
    articles = [_article(r, i) for i, r in enumerate(records, start=1)]
    titles = [r["title"] for r in records[cfg["seed"] :]]
    with tempfile.TemporaryDirectory() as data:
        store = Store(Settings(data_dir=Path(data)))
        try:
            Ingestor(store).ingest(articles[: cfg["seed"]])
            if cfg["variant"] == "serialised":
                store.embedder = _Serialised(store.embedder)
            retriever = HybridRetriever(store)
            retriever.retrieve(titles[0], k=K, mode="rrf")
            if cfg["variant"] == "questions alone":
                ms = []
                for t in titles:
                    start = time.perf_counter()
                    retriever.retrieve(t, k=K, mode="rrf")
                    ms.append((time.perf_counter() - start) * 1000)
                return {"variant": cfg["variant"], "queries": _stats(ms), "asked": len(ms)}
            return _during_ingestion(store, retriever, articles[cfg["seed"] :], titles, cfg["variant"])
        finally:
            store.close()


def _during_ingestion(store: Any, retriever: Any, later: list[Any], titles: list[str], variant: str) -> dict[str, Any]:
    from index.ingest import Ingestor

    report: list[Any] = []
    ended: list[float] = []

    def ingest() -> None:
        report.append(Ingestor(store).ingest(later))
        ended.append(time.perf_counter())  # not when the question loop notices

    worker = threading.Thread(target=ingest)
    started = time.perf_counter()
    worker.start()
    ms: list[float] = []
    while variant != "ingestion alone":
        time.sleep(SPACING_S)
        if not worker.is_alive():
            break
        start = time.perf_counter()
        retriever.retrieve(titles[len(ms) % len(titles)], k=K, mode="rrf")
        ms.append((time.perf_counter() - start) * 1000)
    worker.join()
    seconds = ended[0] - started
    out = {"variant": variant, "ingest_chunks": report[0].chunks_written, "ingest_s": seconds, "asked": len(ms)}
    return {**out, "queries": _stats(ms)} if ms else out


def render(res: dict[str, Any]) -> str:
    by = {v["variant"]: v for v in res["variants"]}
    base_p95 = by["questions alone"]["queries"]["p95"]
    base_rate = by["ingestion alone"]["ingest_chunks"] / by["ingestion alone"]["ingest_s"]
    lines = [
        "# Questions during an ingestion, one process",
        "",
        f"{res['date']}: `{res['command']}` ({res['code']}); {res['machine']['nproc']} cores "
        f"({res['machine']['cpu']}), {res['machine']['ram_gb']} GB RAM. Store: the first {res['seed']} OrangeSum "
        f"articles; then the next {res['more']} ingested in a thread while their titles are asked as hybrid "
        f"queries (k={K}), one every {SPACING_S} s after the previous answer.",
        "",
        "| run | questions | hybrid p50 / p95 / max ms | p95 ratio | ingestion chunks/s | ratio |",
        "|---|---:|---|---:|---:|---:|",
    ]
    names = {
        "questions alone": "questions alone (baseline)",
        "ingestion alone": "ingestion alone (baseline)",
        "shared": "both, as shipped: question and batch embedded at once",
        "serialised": "both, one lock for the two calls (before)",
    }
    for v in res["variants"]:
        q = v.get("queries")
        lat = f"{q['p50']:.1f} / {q['p95']:.1f} / {q['max']:.1f} | {q['p95'] / base_p95:.2f}×" if q else "— | —"
        rate = v["ingest_chunks"] / v["ingest_s"] if "ingest_s" in v else None
        ing = f"{rate:.2f} | {rate / base_rate:.2f}×" if rate else "— | —"
        lines.append(f"| {names[v['variant']]} | {v['asked']} | {lat} | {ing} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help=f"folder with {DATA_FILE}, or the file itself")
    ap.add_argument("--seed", type=int, default=20, help="articles in the store before the questions")
    ap.add_argument("--more", type=int, default=60, help="articles ingested while questions are asked")
    args = ap.parse_args(argv)
    path = orangesum_file(args.data)
    if path is None:
        return 0
    if args.more < 1 or args.seed < 1:
        ap.error("--more and --seed must be at least 1")
    cfg = {"data": str(path), "seed": args.seed, "more": args.more}
    variants = []
    for variant in ("questions alone", "ingestion alone", "shared", "serialised"):
        print(f"  {variant}...", file=sys.stderr)
        variants.append(in_fresh_process(run_variant, {**cfg, "variant": variant}))
    save_report("query_during_ingest", {**cfg, "variants": variants}, render, argv)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
