"""Answer latency, prompt size and fact recall with the embedded LLM.

Two question sets, run in one process on the same machine:
- the sample corpus (examples/articles) with its acceptance questions;
- N PIAF dev questions (../shared/data/piaf-dev.jsonl.gz), their 261 paragraphs ingested.

Baseline named in the output: the same answer path with the whole top-k chunks in
the prompt (no per-passage window selection), so the ratio shows what the context
budget buys. Reports p50/p95 of time to first token and total time, prompt tokens
per answer, refusal rate and fact recall (the gold answer, accent/case-folded,
appears in the answer text).

    python -m benchmarks.answers [--piaf N] [--data ../shared/data] [--no-baseline]
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.retrieval_piaf import machine  # noqa: E402
from index.french import fold  # noqa: E402
from index.ingest import Ingestor  # noqa: E402
from index.readers import ReadOptions, build_article, read_inputs  # noqa: E402
from index.store import Store  # noqa: E402
from rag.answer import Answerer  # noqa: E402
from veille.settings import Settings  # noqa: E402

SAMPLE_QUESTIONS: list[tuple[str, list[str] | None]] = [
    ("Qui dirige la délégation russe ?", ["Dmitriev"]),
    ("Qui dirige la délégation ukrainienne ?", ["Umerov"]),
    ("Une réunion trilatérale est-elle prévue ?", ["non", "pas prévue", "aucune", "n'est pas"]),
    ("Quel est le prix du pétrole ?", None),  # must be refused
    ("Où se tiennent les négociations ?", ["Miami"]),
    ("Qui représente les États-Unis aux pourparlers ?", ["Witkoff", "Kushner"]),
]


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q * (len(s) - 1))))]


def machine_line() -> str:
    m = machine()
    return f"{m['nproc']} cores, {m['cpu']}, {m['ram_gb']} GB RAM, Python {m['python']}, load {m['load_avg_start']}"


def run_set(answerer: Answerer, items: list[tuple[str, list[str] | None]]) -> dict[str, Any]:
    ctoks: list[int] = []
    ttft, total, ptoks, hits, answerable, refused_ok, unanswerable, refusals = [], [], [], 0, 0, 0, 0, 0
    rows = []
    for question, gold in items:
        t = time.perf_counter()
        ans = answerer.answer(question)
        wall = time.perf_counter() - t
        total.append(wall)
        ttft.append(ans.timings.get("llm_first_token_s", wall) + ans.timings.get("retrieve_s", 0.0))
        if ans.prompt_tokens:
            ptoks.append(ans.prompt_tokens)
        if ans.completion_tokens:
            ctoks.append(ans.completion_tokens)
        refusals += ans.refused
        if gold is None:
            unanswerable += 1
            refused_ok += ans.refused
            ok = ans.refused
        else:
            answerable += 1
            ok = any(fold(g) in fold(ans.text) for g in gold)
            hits += ok
        rows.append(
            {
                "question": question,
                "answer": ans.text,
                "ok": ok,
                "seconds": round(wall, 2),
                "prompt_tokens": ans.prompt_tokens,
                "completion_tokens": ans.completion_tokens,
            }
        )
    return {
        "n": len(items),
        "ttft_p50": pct(ttft, 0.5),
        "ttft_p95": pct(ttft, 0.95),
        "total_p50": pct(total, 0.5),
        "total_p95": pct(total, 0.95),
        "prompt_tokens_mean": statistics.fmean(ptoks) if ptoks else float("nan"),
        "completion_tokens_mean": statistics.fmean(ctoks) if ctoks else float("nan"),
        "fact_recall": hits / answerable if answerable else float("nan"),
        "refusal_accuracy": refused_ok / unanswerable if unanswerable else float("nan"),
        "refusal_rate": refusals / len(items),
        "items": rows,
    }


def raw_model_speed(answerer: Answerer) -> dict[str, float]:
    """Prompt and generation tokens/s of the bare llama.cpp model: the floor any answer path pays."""
    client = getattr(answerer.llm.model, "client", None)
    if client is None:
        return {}
    text = " ".join(f"Phrase {i} d'un article de presse sur une négociation à Miami." for i in range(40))
    toks = client.tokenize(text.encode("utf-8"))[:400]
    client.reset()
    t = time.perf_counter()
    client.eval(toks)
    prompt_s = time.perf_counter() - t
    n, t = 32, time.perf_counter()
    for _ in range(n):
        client.eval([client.sample(temp=0.0)])
    gen_s = time.perf_counter() - t
    client.reset()
    return {"prompt_tok_s": len(toks) / prompt_s, "gen_tok_s": n / gen_s, "prompt_tokens": float(len(toks))}


def piaf_items(data: Path, n: int) -> tuple[list[dict[str, Any]], list[tuple[str, list[str] | None]]]:
    with gzip.open(data / "piaf-dev.jsonl.gz", "rt", encoding="utf-8") as fh:
        paragraphs = [json.loads(line) for line in fh]
    # A fixed, spread-out sample: every k-th question, so the set does not depend on file order quirks.
    flat = [(q["question"], q["answers"]) for p in paragraphs for q in p["questions"]]
    step = max(1, len(flat) // n)
    questions: list[tuple[str, list[str] | None]] = [(q, list(a)) for q, a in flat[::step][:n]]
    return paragraphs, questions


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--piaf", type=int, default=50, help="PIAF questions (0 to skip)")
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--no-baseline", action="store_true", help="skip the whole-chunk baseline")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "answers.md")
    args = ap.parse_args()

    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp) / "sample")
        store = Store(settings)
        Ingestor(store).ingest(read_inputs([ROOT / "examples" / "articles"], ReadOptions()))
        answerer = Answerer(store)
        speed = raw_model_speed(answerer)
        answerer.answer("Qui ?")  # load the model and warm the prompt prefix once, outside the timings
        results["sample corpus"] = run_set(answerer, SAMPLE_QUESTIONS)
        if not args.no_baseline:
            whole = settings.model_copy(update={"passage_tokens": settings.chunk_tokens + 50, "context_tokens": 4000})
            results["sample corpus, baseline: whole chunks"] = run_set(Answerer(store, whole), SAMPLE_QUESTIONS)
        if args.piaf and (args.data / "piaf-dev.jsonl.gz").exists():
            paragraphs, items = piaf_items(args.data, args.piaf)
            pstore = Store(Settings(data_dir=Path(tmp) / "piaf"))
            opts = ReadOptions()
            arts = [
                build_article({"id": p["id"], "title": p["title"], "text": p["text"]}, p["id"], opts)
                for p in paragraphs
            ]
            Ingestor(pstore).ingest(arts)
            results[f"PIAF dev, {len(items)} questions"] = run_set(Answerer(pstore), items)
        elif args.piaf:
            print(f"PIAF data not found in {args.data}: skipping that set", file=sys.stderr)

    lines = [
        f"# Answers with the embedded LLM — {date.today().isoformat()}",
        "",
        f"Machine: {machine_line()}. Command: `python -m benchmarks.answers --piaf {args.piaf}`.",
        "Baseline: the same pipeline showing whole top-k chunks to the model (no window selection).",
        "",
        (
            f"Bare llama.cpp on this machine (same process, {speed.get('prompt_tokens', 0):.0f}-token prompt): "
            f"{speed.get('prompt_tok_s', float('nan')):.1f} prompt tok/s, "
            f"{speed.get('gen_tok_s', float('nan')):.1f} generated tok/s."
        ),
        "",
        "| set | n | TTFT p50 (s) | TTFT p95 (s) | total p50 (s) | total p95 (s) | prompt tokens "
        "| generated tokens | fact recall | refusal acc. | refusal rate |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        lines.append(
            f"| {name} | {r['n']} | {r['ttft_p50']:.2f} | {r['ttft_p95']:.2f} | {r['total_p50']:.2f} | "
            f"{r['total_p95']:.2f} | {r['prompt_tokens_mean']:.0f} | {r['completion_tokens_mean']:.0f} | "
            f"{r['fact_recall']:.2f} | "
            f"{r['refusal_accuracy']:.2f} | {r['refusal_rate']:.2f} |"
        )
    base = results.get("sample corpus, baseline: whole chunks")
    if base:
        ours = results["sample corpus"]
        lines += [
            "",
            f"Ratios ours/baseline on the sample corpus: total p50 {ours['total_p50'] / base['total_p50']:.2f}, "
            f"prompt tokens {ours['prompt_tokens_mean'] / base['prompt_tokens_mean']:.2f}, "
            f"fact recall {ours['fact_recall']:.2f} vs {base['fact_recall']:.2f}.",
        ]
    lines += ["", "Per item:", ""]
    for name, r in results.items():
        lines.append(f"## {name}")
        for row in r["items"]:
            mark = "ok" if row["ok"] else "MISS"
            lines.append(f"- [{mark}] {row['question']} → {row['answer']} ({row['seconds']} s)")
    report = "\n".join(lines) + "\n"
    print(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report, encoding="utf-8")
    args.out.with_suffix(".json").write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
