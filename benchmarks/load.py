"""Bounded load test of the API on loopback: concurrent clients, mixed search and answer requests.

Starts a real `veille serve` on a free port over the sample corpus, then runs,
in one process on one machine:
- baseline: 1 client, search only, for --baseline-seconds;
- load: --clients concurrent clients for --seconds, each request a search or,
  with probability --answer-share, an answer (embedded LLM).
Reports throughput, p50/p95/p99 latency per kind and every status code seen.
Every request sent gets a response: "lost" counts the ones that did not
(connection errors, timeouts). Documented statuses under load: 200, 429, 503.

    python -m benchmarks.load [--clients 20] [--seconds 60] [--answer-share 0.1]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.answers import machine_line, pct  # noqa: E402

QUERIES = [
    "Qui dirige la délégation russe ?",
    "négociations Miami",
    "garanties de sécurité Ukraine",
    "Witkoff Kushner",
    "cessez-le-feu ligne de front",
    "Berlin 14 et 15 décembre",
]
QUESTIONS = ["Qui dirige la délégation russe ?", "Où se tiendront les pourparlers ?", "Quel est le prix du pétrole ?"]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_clients(url: str, clients: int, seconds: float, answer_share: float, seed: int) -> dict[str, Any]:
    results: list[tuple[str, int | None, float]] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client(i: int) -> None:
        rng = random.Random(seed + i)
        with httpx.Client(base_url=url, timeout=600) as c:
            while time.monotonic() < stop_at:
                kind = "answer" if rng.random() < answer_share else "search"
                t = time.perf_counter()
                try:
                    if kind == "answer":
                        r = c.post("/v1/answers", json={"question": rng.choice(QUESTIONS)})
                    else:
                        r = c.post("/v1/search", json={"query": rng.choice(QUERIES), "k": 5})
                    status: int | None = r.status_code
                except httpx.HTTPError:
                    status = None
                with lock:
                    results.append((kind, status, time.perf_counter() - t))
                if status in (429, 503):
                    time.sleep(1.0)  # a client that honours Retry-After, briefly

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wall = time.perf_counter() - started
    out: dict[str, Any] = {"wall_s": wall, "clients": clients, "statuses": {}, "kinds": {}}
    for kind in ("search", "answer"):
        ok = [d for k, s, d in results if k == kind and s == 200]
        out["kinds"][kind] = {
            "sent": sum(k == kind for k, _, _ in results),
            "ok": len(ok),
            "throughput_rps": len(ok) / wall,
            "p50_s": pct(ok, 0.5),
            "p95_s": pct(ok, 0.95),
            "p99_s": pct(ok, 0.99),
        }
    out["statuses"] = {str(k): v for k, v in Counter(s for _, s, _ in results).items()}
    out["lost"] = sum(s is None for _, s, _ in results)
    out["undocumented"] = sum(s is not None and s not in (200, 429, 503) for _, s, _ in results)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--baseline-seconds", type=float, default=15)
    ap.add_argument("--answer-share", type=float, default=0.1)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "load.md")
    args = ap.parse_args()
    veille = Path(sys.executable).parent / "veille"
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "VEILLE_DATA_DIR": str(Path(tmp) / "data"), "VEILLE_RATE_LIMIT_PER_MINUTE": "100000"}
        subprocess.run([str(veille), "ingest", str(ROOT / "examples" / "articles")], env=env, check=True,
                       capture_output=True)  # fmt: skip
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        log = (Path(tmp) / "server.log").open("wb")
        proc = subprocess.Popen(
            [str(veille), "serve", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            deadline = time.monotonic() + 120
            while True:
                try:
                    if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise SystemExit("the server did not start")
                time.sleep(0.3)
            httpx.post(f"{url}/v1/answers", json={"question": "Qui ?"}, timeout=600)  # load the model first
            baseline = run_clients(url, 1, args.baseline_seconds, 0.0, 0)
            load = run_clients(url, args.clients, args.seconds, args.answer_share, 1)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    b, s, a = baseline["kinds"]["search"], load["kinds"]["search"], load["kinds"]["answer"]

    def f(x: float | None) -> str:
        return "n/a" if x is None or x != x else f"{x:.3f}"

    lines = [
        f"# Load test on loopback — {date.today().isoformat()}",
        "",
        f"Machine: {machine_line()}. Command: `python -m benchmarks.load --clients {args.clients} "
        f"--seconds {args.seconds:.0f} --answer-share {args.answer_share}`.",
        "",
        "| run | kind | sent | ok | throughput (req/s) | p50 (s) | p95 (s) | p99 (s) |",
        "|---|---|---|---|---|---|---|---|",
        f"| baseline: 1 client, search only | search | {b['sent']} | {b['ok']} | {b['throughput_rps']:.1f} "
        f"| {f(b['p50_s'])} | {f(b['p95_s'])} | {f(b['p99_s'])} |",
        f"| {args.clients} clients | search | {s['sent']} | {s['ok']} | {s['throughput_rps']:.1f} "
        f"| {f(s['p50_s'])} | {f(s['p95_s'])} | {f(s['p99_s'])} |",
        f"| {args.clients} clients | answer | {a['sent']} | {a['ok']} | {a['throughput_rps']:.2f} "
        f"| {f(a['p50_s'])} | {f(a['p95_s'])} | {f(a['p99_s'])} |",
        "",
        f"Statuses under load: {json.dumps(load['statuses'])}; lost (no response): {load['lost']}; "
        f"undocumented statuses: {load['undocumented']}. Search throughput under load vs the 1-client "
        f"baseline: {s['throughput_rps'] / b['throughput_rps']:.2f}×.",
        "503 `busy` is the answer queue (VEILLE_LLM_QUEUE) turning away answers the single embedded model "
        "could not start within minutes; clients are told to retry.",
    ]
    report = "\n".join(lines) + "\n"
    print(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report, encoding="utf-8")
    args.out.with_suffix(".json").write_text(json.dumps({"baseline": baseline, "load": load}, indent=1))
    return 0 if load["lost"] == 0 and load["undocumented"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
