"""Answers with the embedded LLM: latency, generated tokens, right / wrong / refused, against the stock recipe.

Sets, all run in one process on the same machine, one after the other (nothing else running):
- the sample corpus (examples/articles) with the seed gold set's questions (evals/gold/seeds.yaml:
  answerable ones and the ones the articles cannot answer);
- PIAF dev, answerable: N questions, all 261 paragraphs ingested (each question's own paragraph
  among 260 others);
- PIAF dev, unanswerable: the same questions with their own paragraph deleted from the store.

Baselines named in the output, in the same run:
- the stock LangChain recipe: RecursiveCharacterTextSplitter -> Chroma (same embedder) -> top 4 ->
  a "stuff" prompt -> the same model (same worker), no verification;
- the bare model's speed: llama.cpp's prompt and generated tokens/s on this machine;
- with --inprocess, Veille again with the model inside the process (VEILLE_LLM_PROCESS=inprocess),
  so the cost of the worker process shows as a ratio (issue: under 5%).

Metrics: fact recall (gold answer in the answer text, French-normalised), wrong answers (answered,
gold not in it), token F1 (SQuAD's measure, which PIAF reports: partial credit where the gold span
is longer or worded otherwise, 0 for a refusal), false refusals, refusal accuracy on unanswerable
sets, citation validity (every [n] resolves to a citation whose quote is the article's text at its
offsets), latency p50/p95, generated tokens p50, answer words median. With --ablate, each verifier
rule is switched off in turn on the same model outputs (no new LLM call) to show what it stops and what it costs.

    python -m benchmarks.answers [--piaf 100] [--unanswerable 100] [--no-stock] [--inprocess] [--ablate]
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.retrieval_piaf import machine  # noqa: E402
from evals.gold import load_gold  # noqa: E402
from evals.metrics import fact_in, markers, token_f1  # noqa: E402
from evals.runner import item_filters  # noqa: E402
from index.ingest import Ingestor  # noqa: E402
from index.readers import ReadOptions, build_article, read_inputs  # noqa: E402
from index.store import Filters, Store  # noqa: E402
from rag.answers.answer import Answer, Answerer, Turn  # noqa: E402
from rag.answers.drafts import parse_grounded  # noqa: E402
from rag.answers.extractive import MIN_QUOTE_COVERAGE, best_sentences  # noqa: E402
from rag.answers.support import Judge, verify_answer  # noqa: E402
from rag.generation.llm import get_llm, worker_dir  # noqa: E402
from rag.generation.llm_supervisor import stop_all  # noqa: E402
from veille.settings import Settings  # noqa: E402

REFUSAL_WORDS = (
    "ne le disent pas", "do not say", "je ne sais pas", "don't know", "do not know", "aucune information",
    "pas d'information", "ne mentionne", "ne précise", "not mentioned", "ne sont pas mentionn",
)  # fmt: skip


@dataclass
class Item:
    question: str
    gold: list[list[str]] | None  # facts, each with its accepted forms; None: the sources cannot answer
    filters: Filters = field(default_factory=Filters)
    history: list[Turn] = field(default_factory=list)
    lang: str = "fr"


@dataclass
class Outcome:
    question: str
    answer: str
    refused: bool
    right: bool | None  # None for unanswerable items
    seconds: float
    first_token_s: float | None
    completion_tokens: int | None
    prompt_tokens: int | None
    citations_valid: bool | None
    words: int
    reason: str = ""
    f1: float | None = None  # SQuAD token F1 against the gold answer (0 when refused); None if unanswerable


def machine_line() -> str:
    m = machine()
    return f"{m['nproc']} cores, {m['cpu']}, {m['ram_gb']} GB RAM, Python {m['python']}, load {m['load_avg_start']}"


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q * (len(s) - 1))))]


def _valid_citations(ans: Answer, store: Store) -> bool:
    cited = {c.n: c for c in ans.citations}
    if any(n not in cited for n in markers(ans.text)):
        return False
    for c in ans.citations:
        record = store.article(c.article_id)
        if record is None or record.text[c.start : c.end] != c.quote:
            return False
    return True


def _right(item: Item, text: str) -> bool:
    assert item.gold is not None
    return all(any(fact_in([form], text) for form in forms) for forms in item.gold)


def _f1(item: Item, text: str) -> float | None:
    if item.gold is None:
        return None
    return statistics.fmean(token_f1(forms, text) for forms in item.gold) if text else 0.0


def ask_veille(answerer: Answerer, item: Item, store: Store) -> tuple[Outcome, Answer]:
    t = time.perf_counter()
    ans = answerer.answer(item.question, history=item.history, filters=item.filters)
    wall = time.perf_counter() - t
    body = ans.text if not ans.refused else ""
    return (
        Outcome(
            question=item.question,
            answer=ans.text,
            refused=ans.refused,
            right=None if item.gold is None else (not ans.refused and _right(item, body)),
            seconds=wall,
            first_token_s=ans.timings.get("llm_first_token_s"),
            completion_tokens=ans.completion_tokens,
            prompt_tokens=ans.prompt_tokens,
            citations_valid=None if ans.refused else _valid_citations(ans, store),
            words=0 if ans.refused else len([w for w in ans.text.split() if not w.startswith("[")]),
            reason=ans.refusal_reason or "; ".join(ans.dropped_claims),
            f1=_f1(item, body),
        ),
        ans,
    )


def summarise(outcomes: list[Outcome]) -> dict[str, Any]:
    answerable = [o for o in outcomes if o.right is not None]
    unanswerable = [o for o in outcomes if o.right is None]
    answered = [o for o in outcomes if not o.refused]
    valid = [o.citations_valid for o in answered if o.citations_valid is not None]
    return {
        "n": len(outcomes),
        "total_p50": pct([o.seconds for o in outcomes], 0.5),
        "total_p95": pct([o.seconds for o in outcomes], 0.95),
        "ttft_p50": pct([o.first_token_s for o in outcomes if o.first_token_s is not None], 0.5),
        "gen_tokens_p50": pct([float(o.completion_tokens) for o in outcomes if o.completion_tokens], 0.5),
        "prompt_tokens_p50": pct([float(o.prompt_tokens) for o in outcomes if o.prompt_tokens], 0.5),
        "words_median": statistics.median([o.words for o in answered]) if answered else float("nan"),
        "fact_recall": sum(bool(o.right) for o in answerable) / len(answerable) if answerable else float("nan"),
        "wrong": sum(1 for o in answerable if not o.refused and not o.right) / len(answerable)
        if answerable
        else float("nan"),
        "token_f1": statistics.fmean(o.f1 or 0.0 for o in answerable) if answerable else float("nan"),
        "false_refusals": sum(o.refused for o in answerable) / len(answerable) if answerable else float("nan"),
        "refusal_accuracy": sum(o.refused for o in unanswerable) / len(unanswerable) if unanswerable else float("nan"),
        "citation_validity": sum(valid) / len(valid) if valid else float("nan"),
        "items": [o.__dict__ for o in outcomes],
    }


# -- the stock LangChain recipe ----------------------------------------------------------------------


STOCK_PROMPT = (
    "Use the following pieces of context to answer the question at the end. If you don't know the answer, "
    "just say that you don't know, don't try to make up an answer.\n\n{context}\n\n"
    "Question: {question}\nHelpful Answer:"
)


class StockRecipe:
    """splitter -> Chroma -> top 4 -> "stuff" prompt -> the same model; no verification, no citations."""

    def __init__(self, store: Store, folder: Path, articles: list[Any]) -> None:
        from langchain_core.documents import Document

        from benchmarks.langchain_baseline import VeilleE5Embeddings, langchain_chroma

        docs = [Document(page_content=a.text, metadata={"id": a.id}) for a in articles]
        self.embeddings = VeilleE5Embeddings(store.embedder)
        _, self.db = langchain_chroma(docs, self.embeddings, 1000, 200, str(folder), "stock")
        self.folder = folder

    def delete(self, article_id: str) -> list[Any]:
        got = self.db.get(where={"id": article_id}, include=["documents", "metadatas", "embeddings"])
        self.db.delete(ids=got["ids"])
        return [got]

    def restore(self, saved: list[Any]) -> None:
        for got in saved:
            self.db._collection.add(
                ids=got["ids"], documents=got["documents"], metadatas=got["metadatas"], embeddings=got["embeddings"]
            )

    def ask(self, llm: Any, item: Item) -> Outcome:
        from langchain_core.messages import HumanMessage

        t = time.perf_counter()
        docs = self.db.similarity_search(item.question, k=4)
        prompt = STOCK_PROMPT.format(context="\n\n".join(d.page_content for d in docs), question=item.question)
        text = "".join(llm.stream([HumanMessage(prompt)], max_tokens=256)).strip()
        wall = time.perf_counter() - t
        refused = not text or any(w in text.lower() for w in REFUSAL_WORDS)
        return Outcome(
            question=item.question,
            answer=text,
            refused=refused,
            right=None if item.gold is None else (not refused and _right(item, text)),
            seconds=wall,
            first_token_s=None,
            completion_tokens=None,
            prompt_tokens=None,
            citations_valid=None,
            words=len(text.split()),
            f1=_f1(item, "" if refused else text),
        )


# -- the bare model ----------------------------------------------------------------------------------


def bare_model_speed(settings: Settings) -> dict[str, float]:
    """Prompt and generated tokens/s of llama.cpp alone (in this process): the floor of any answer."""
    from llama_cpp import Llama

    from rag.generation.model_weights import ensure_model

    llm = Llama(
        model_path=str(settings.llm_model_path or ensure_model(settings.model_cache_dir)),
        n_ctx=2048, n_threads=settings.threads, n_batch=512, verbose=False,
    )  # fmt: skip
    text = " ".join(f"Phrase {i} d'un article de presse sur une négociation à Miami." for i in range(40))
    toks = llm.tokenize(text.encode("utf-8"))[:400]
    llm.reset()  # type: ignore[no-untyped-call]
    t = time.perf_counter()
    llm.eval(toks)
    prompt_s = time.perf_counter() - t
    n, t = 32, time.perf_counter()
    for _ in range(n):
        llm.eval([llm.sample(temp=0.0)])
    gen_s = time.perf_counter() - t
    llm.close()
    return {"prompt_tok_s": len(toks) / prompt_s, "gen_tok_s": n / gen_s, "prompt_tokens": float(len(toks))}


# -- the sets ----------------------------------------------------------------------------------------


def seed_items() -> list[Item]:
    gold = load_gold(str(ROOT / "evals" / "gold" / "seeds.yaml"))
    items = []
    for it in gold.items:
        facts = [[f.text, *f.aliases] for f in it.gold_facts] if it.answerable else None
        if it.answerable and not facts:
            continue
        history = [Turn(t.role, t.content) for t in it.history]
        items.append(Item(it.question, facts, item_filters(it), history, it.lang))
    return items


def piaf_items(data: Path, n: int, offset: int = 0) -> tuple[list[dict[str, Any]], list[tuple[str, Item]]]:
    """The paragraphs, and n questions spread over the file (every k-th from `offset`), each with its
    paragraph id."""
    with gzip.open(data / "piaf-dev.jsonl.gz", "rt", encoding="utf-8") as fh:
        paragraphs = [json.loads(line) for line in fh]
    flat = [(p["id"], q["question"], q["answers"]) for p in paragraphs for q in p["questions"]]
    step = max(1, len(flat) // max(n, 1))
    return paragraphs, [(pid, Item(q, [list(a)])) for pid, q, a in flat[offset % step :: step][:n]]


def piaf_store(folder: Path, paragraphs: list[dict[str, Any]]) -> tuple[Store, dict[str, Any]]:
    """A store holding every PIAF paragraph as an article, and those articles by paragraph id."""
    store = Store(Settings(data_dir=folder))
    opts = ReadOptions()
    arts = {
        p["id"]: build_article({"id": p["id"], "title": p["title"], "text": p["text"]}, p["id"], opts)
        for p in paragraphs
    }
    Ingestor(store).ingest(list(arts.values()))
    return store, arts


def reverify(ans: Answer, judge: Judge, rescue: bool = True) -> tuple[bool, str]:
    """The answer again from the model's recorded output, under other verifier rules: kept, and its text."""
    if not ans.raw_output:
        return not ans.refused, ans.text
    draft = parse_grounded(ans.raw_output)
    shown = list({id(p): p for p in ans.passages}.values())
    if not (draft.answer and draft.ids):
        return False, draft.answer
    same = all(p.lang in ("", ans.lang) for p in shown)
    q = ans.standalone_question
    v = verify_answer(draft.answer, draft.ids, ans.sentences, shown, q, same, judge)
    if v.claims:
        return True, " ".join(c.text for c in v.claims)
    if rescue:
        picks = best_sentences(q, ans.sentences, shown, judge=judge, among=draft.ids, min_coverage=MIN_QUOTE_COVERAGE)
        if picks:
            return True, picks[0].sentence.text
    return False, ""


def ablate(answers: list[tuple[Item, Answer]]) -> list[dict[str, Any]]:
    """Each verifier rule off in turn, on the same model outputs: what it stops, what it costs."""
    variants = {
        "all rules + quoting a named sentence (shipped)": (Judge(), True),
        "all rules, no quoting (refuse instead)": (Judge(), False),
        "no names/numbers check": (Judge(details=False), True),
        "no content-word check": (Judge(content_words=False), True),
        "no aboutness check": (Judge(aboutness=False), True),
        "aboutness coverage 0.34": (Judge(min_question_coverage=0.34), True),
        "aboutness coverage 0.67": (Judge(min_question_coverage=0.67), True),
        "2 unsupported words allowed": (Judge(unsupported_allowed=2), True),
        "no answer-kind check": (Judge(answer_kind=False), True),
        "no repeats-the-question check": (Judge(says_something=False), True),
        "no verification": (
            Judge(details=False, content_words=False, aboutness=False, answer_kind=False, says_something=False),
            False,
        ),
    }
    rows = []
    for name, (judge, rescue) in variants.items():
        right = wrong = refused = unans_refused = unans = answerable = 0
        for item, ans in answers:
            kept, text = reverify(ans, judge, rescue)
            if item.gold is None:
                unans += 1
                unans_refused += not kept
            else:
                answerable += 1
                if not kept:
                    refused += 1
                elif _right(item, text):
                    right += 1
                else:
                    wrong += 1
        rows.append(
            {
                "variant": name,
                "fact_recall": right / answerable if answerable else float("nan"),
                "wrong": wrong / answerable if answerable else float("nan"),
                "false_refusals": refused / answerable if answerable else float("nan"),
                "refusal_accuracy": unans_refused / unans if unans else float("nan"),
            }
        )
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--piaf", type=int, default=100, help="PIAF answerable questions (0 to skip)")
    ap.add_argument("--unanswerable", type=int, default=100, help="of those, asked again without their paragraph")
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--no-stock", action="store_true", help="skip the stock LangChain recipe")
    ap.add_argument("--stock-n", type=int, default=0, help="ask the stock recipe only the first N of each set")
    ap.add_argument("--inprocess", action="store_true", help="also run the sample set with the model in process")
    ap.add_argument("--ablate", action="store_true", help="measure each verifier rule on the same outputs")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "answers.md")
    args = ap.parse_args()

    results: dict[str, dict[str, Any]] = {}
    collected: dict[str, list[tuple[Item, Answer]]] = {}
    started = time.time()
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as cleanup:
        # A worker of its own: the machine's shared one keeps the states of prompts other runs sent (the
        # same seed questions asked by an eval an hour before answer in 0.1 s), and the in-process model
        # it is compared with starts empty.
        settings = Settings(data_dir=Path(tmp) / "sample", llm_worker_dir=Path(tmp) / "llm-worker")
        # Stopped however the run ends (its folder goes with the temporary directory): a crashed run
        # must not leave 1.1 GB resident until the worker's idle exit.
        cleanup.callback(stop_all, worker_dir(settings))
        speed = bare_model_speed(settings)
        store = Store(settings)
        sample_articles = list(read_inputs([ROOT / "examples" / "articles"], ReadOptions()))
        Ingestor(store).ingest(sample_articles)
        answerer = Answerer(store)
        llm = answerer.llm
        # Start the worker and have it read the system prompt, outside the timings. (A question does
        # not do it: "Qui ?" is refused before any model call since the gate, and the first timed
        # question then paid the worker's start, 14-18 s.)
        answerer.warm_up()
        items = seed_items()

        def run(name: str, ans_: Answerer, st: Store, its: list[Item]) -> None:
            outs = []
            for it in its:
                o, a = ask_veille(ans_, it, st)
                outs.append(o)
                collected.setdefault(name, []).append((it, a))
            results[name] = summarise(outs)
            print(f"{name}: {json.dumps({k: v for k, v in results[name].items() if k != 'items'})}", flush=True)

        run("sample corpus (seed questions), Veille", answerer, store, items)
        if args.inprocess:
            inproc = settings.model_copy(update={"llm_process": "inprocess"})
            ip = Answerer(store, inproc, llm=get_llm(inproc))
            ip.warm_up()
            run("sample corpus, Veille with the model in process", ip, store, items)
            # A new worker: the first one holds the states of these very prompts (answers in ~0.1 s).
            stop_all(worker_dir(settings))
            answerer.warm_up()
            run("sample corpus (seed questions), Veille, again", answerer, store, items)
        none = settings.model_copy(update={"llm": "none"})
        run("sample corpus, VEILLE_LLM=none (extractive)", Answerer(store, none), store, items)
        if not args.no_stock:
            stock = StockRecipe(store, Path(tmp) / "stock-sample", [a for a in sample_articles if hasattr(a, "text")])
            plain = [it for it in items if not it.history]
            outs = [stock.ask(llm, it) for it in plain[: args.stock_n or None]]
            results["sample corpus, stock LangChain recipe"] = summarise(outs)

        if args.piaf and (args.data / "piaf-dev.jsonl.gz").exists():
            paragraphs, pitems = piaf_items(args.data, args.piaf)
            pstore, arts = piaf_store(Path(tmp) / "piaf", paragraphs)
            pans = Answerer(pstore, llm=llm)
            run(f"PIAF dev, {len(pitems)} answerable, Veille", pans, pstore, [it for _, it in pitems])
            pnone = Answerer(pstore, pstore.settings.model_copy(update={"llm": "none"}))
            run(f"PIAF dev, {len(pitems)} answerable, VEILLE_LLM=none", pnone, pstore, [it for _, it in pitems])
            stock_p = None
            if not args.no_stock:
                stock_p = StockRecipe(pstore, Path(tmp) / "stock-piaf", list(arts.values()))
                outs = [stock_p.ask(llm, it) for _, it in pitems[: args.stock_n or None]]
                results[f"PIAF dev, {len(pitems)} answerable, stock LangChain recipe"] = summarise(outs)
            # Unanswerable: each question's own paragraph taken out of both stores, then put back.
            un = pitems[: args.unanswerable]
            by_par: dict[str, list[Item]] = {}
            for pid, it in un:
                by_par.setdefault(pid, []).append(replace(it, gold=None))
            v_out: list[Outcome] = []
            s_out: list[Outcome] = []
            for pid, its in by_par.items():
                Ingestor(pstore).delete([pid])
                saved = stock_p.delete(pid) if stock_p else []
                for it in its:
                    o, a = ask_veille(pans, it, pstore)
                    v_out.append(o)
                    collected.setdefault(f"PIAF dev, {len(un)} unanswerable, Veille", []).append((it, a))
                    if stock_p and (not args.stock_n or len(s_out) < args.stock_n):
                        s_out.append(stock_p.ask(llm, it))
                Ingestor(pstore).ingest([arts[pid]])
                if stock_p:
                    stock_p.restore(saved)
            results[f"PIAF dev, {len(un)} unanswerable, Veille"] = summarise(v_out)
            if s_out:
                results[f"PIAF dev, {len(un)} unanswerable, stock LangChain recipe"] = summarise(s_out)
        elif args.piaf:
            print(f"PIAF data not found in {args.data}: skipping those sets", file=sys.stderr)

    ablation: dict[str, list[dict[str, Any]]] = {}
    if args.ablate:
        for name, pairs in collected.items():
            if "Veille" in name and "none" not in name and "in process" not in name and "again" not in name:
                ablation[name] = ablate(pairs)
        piaf_pairs = [p for n, ps in collected.items() if n.startswith("PIAF") and n.endswith("Veille") for p in ps]
        if piaf_pairs:
            ablation["PIAF dev, answerable + unanswerable together"] = ablate(piaf_pairs)

    m = machine()
    lines = [
        f"# Answers with the embedded LLM — {date.today().isoformat()}",
        "",
        f"Machine: {m['nproc']} cores, {m['cpu']}, {m['ram_gb']} GB RAM, load at start {m['load_avg_start']}. "
        f"Command: `python -m benchmarks.answers {' '.join(sys.argv[1:])}` ({(time.time() - started) / 60:.0f} min).",
        "",
        f"Bare llama.cpp on this machine (same process, {speed['prompt_tokens']:.0f}-token prompt, "
        f"{settings.threads} threads): **{speed['prompt_tok_s']:.1f} prompt tok/s, {speed['gen_tok_s']:.1f} "
        "generated tok/s**.",
        "",
        "| set | n | p50 s | p95 s | first token p50 s | prompt tok p50 | generated tok p50 | words median "
        "| fact recall | token F1 | wrong | false refusals | refusal acc. | citation validity |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        lines.append(
            f"| {name} | {r['n']} | {r['total_p50']:.2f} | {r['total_p95']:.2f} | {r['ttft_p50']:.2f} | "
            f"{r['prompt_tokens_p50']:.0f} | {r['gen_tokens_p50']:.0f} | {r['words_median']:.0f} | "
            f"{r['fact_recall']:.2f} | {r.get('token_f1', float('nan')):.2f} | {r['wrong']:.2f} | "
            f"{r['false_refusals']:.2f} | {r['refusal_accuracy']:.2f} | {r['citation_validity']:.2f} |"
        )
    ours = results.get("sample corpus (seed questions), Veille")
    inproc_r = results.get("sample corpus, Veille with the model in process")
    again = results.get("sample corpus (seed questions), Veille, again")
    if ours and inproc_r and again:
        out_p50 = statistics.fmean([ours["total_p50"], again["total_p50"]])
        lines += [
            "",
            f"Worker process against in process (sample corpus, p50 of the two worker runs around the in-process "
            f"one): {out_p50:.2f} s / {inproc_r['total_p50']:.2f} s = **{out_p50 / inproc_r['total_p50']:.3f}**.",
        ]
    for name, rows in ablation.items():
        lines += ["", f"Verifier rules, one at a time, on the same model outputs — {name}:", ""]
        lines += ["| variant | fact recall | wrong | false refusals | refusal acc. |", "|---|---|---|---|---|"]
        for row in rows:
            lines.append(
                f"| {row['variant']} | {row['fact_recall']:.2f} | {row['wrong']:.2f} | {row['false_refusals']:.2f} | "
                f"{row['refusal_accuracy']:.2f} |"
            )
    lines += ["", "Per item:", ""]
    for name, r in results.items():
        lines.append(f"## {name}")
        for row in r["items"]:
            mark = (
                "refused"
                if row["refused"]
                else ("ok" if row["right"] else ("WRONG" if row["right"] is False else "ANSWERED"))
            )
            if row["right"] is None and row["refused"]:
                mark = "ok (refused)"
            lines.append(f"- [{mark}] {row['question']} → {row['answer'][:300]} ({row['seconds']:.1f} s)")
    report = "\n".join(lines) + "\n"
    print(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report, encoding="utf-8")
    payload = {"speed": speed, "results": results, "ablation": ablation, "machine": m}
    args.out.with_suffix(".json").write_text(json.dumps(payload, ensure_ascii=False, indent=1, default=str), "utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
