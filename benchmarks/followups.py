"""Questions asked inside a conversation: rewritten with the conversation only where they point back.

Every turn after the first in a chat arrives with history. Rewriting it into a stand-alone question
is one more model call (prompt reading and ~20 generated tokens) and it evicts the answer prompt's
cached prefix, so the answer that follows reads its system prompt again. `VEILLE_CONDENSE=auto` asks
`veille.text.followups.needs_context` first and skips the rewrite for a question that stands alone;
`always` is the behaviour before it.

Two parts, in one process on the same machine:

1. The rule alone (no model): over every PIAF dev question (each written to be asked on its own,
   though some lean on their paragraph: "Qui est l'architecte ?"), the share the rule lets through
   without a rewrite; and the seed set's follow-ups, which point back and must keep it.
2. With the embedded model, over the PIAF dev store (every paragraph ingested): N PIAF questions, each
   asked as the second turn of a chat whose first turn is another PIAF question and its gold answer.
   Each is asked in three modes: every turn rewritten without the prompt cache (the behaviour before),
   every turn rewritten with it, and `auto` with it (shipped). Each mode has its own worker process, so
   none finds another's prompt in its KV cache, and the modes take turns item by item (mode k asks
   item i - k in round i) so they share the machine's moods. Then the seed follow-ups, the same way.

    python -m benchmarks.followups [--n 30] [--out benchmarks/results/followups.md]
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from langchain_core.messages import HumanMessage  # noqa: E402

from benchmarks.answers import (  # noqa: E402
    Item,
    Outcome,
    ask_veille,
    machine_line,
    pct,
    piaf_items,
    piaf_store,
    seed_items,
)
from index.ingest import Ingestor  # noqa: E402
from index.readers import ReadOptions, read_inputs  # noqa: E402
from index.store import Store  # noqa: E402
from rag.answers.answer import Answer, Answerer, Turn  # noqa: E402
from veille.settings import Settings  # noqa: E402
from veille.text.followups import needs_context  # noqa: E402

# Each mode its own worker process (its own KV cache), so no mode finds another's prompt cached.
MODES: dict[str, dict[str, Any]] = {
    "always, no prompt cache (before)": {"condense": "always", "llm_prompt_cache_mb": 0},
    "always + prompt cache": {"condense": "always"},
    "auto + prompt cache (shipped)": {"condense": "auto"},
}


def rule_alone(data: Path) -> dict[str, Any]:
    with gzip.open(data / "piaf-dev.jsonl.gz", "rt", encoding="utf-8") as fh:
        questions = [q["question"] for line in fh for q in json.loads(line)["questions"]]
    t = time.perf_counter()
    flagged = [q for q in questions if needs_context(q)]
    per_question_ms = (time.perf_counter() - t) / len(questions) * 1000
    seeds = [(it.question, needs_context(it.question, it.lang)) for it in seed_items() if it.history]
    return {
        "piaf_questions": len(questions),
        "piaf_stand_alone": 1 - len(flagged) / len(questions),
        "rule_ms": per_question_ms,
        "flagged_sample": flagged[:: max(1, len(flagged) // 15)][:15],
        "seed_followups": seeds,
    }


def chat_items(pitems: list[tuple[str, Item]]) -> list[Item]:
    """Each question after another one (from another paragraph) and that one's gold answer."""
    out = []
    for i, (pid, item) in enumerate(pitems):
        _, prev = next(
            (pitems[j % len(pitems)] for j in range(i + 1, i + len(pitems)) if pitems[j % len(pitems)][0] != pid),
            pitems[(i + 1) % len(pitems)],
        )
        said = (prev.gold or [[""]])[0][0]
        history = [Turn("user", prev.question), Turn("assistant", f"{said} [1].")]
        out.append(replace(item, history=history))
    return out


def summary(pairs: list[tuple[Outcome, Answer]]) -> dict[str, Any]:
    outs = [o for o, _ in pairs]
    answerable = [o for o in outs if o.right is not None]
    return {
        "n": len(outs),
        "p50": pct([o.seconds for o in outs], 0.5),
        "p95": pct([o.seconds for o in outs], 0.95),
        "mean": statistics.fmean(o.seconds for o in outs) if outs else float("nan"),
        "llm_calls": statistics.fmean(a.llm_calls for _, a in pairs) if pairs else float("nan"),
        "rewritten": sum(a.standalone_question != a.question for _, a in pairs),
        "right": sum(bool(o.right) for o in answerable),
        "wrong": sum(1 for o in answerable if not o.refused and not o.right),
        "refused": sum(o.refused for o in answerable),
    }


def answerers_for(store: Store, tmp: Path) -> dict[str, Answerer]:
    out = {}
    for i, (mode, update) in enumerate(MODES.items()):
        settings = store.settings.model_copy(update={**update, "llm_worker_dir": tmp / f"worker-{i}"})
        out[mode] = Answerer(store, settings)
        # Start its worker outside the timings (an answer may be refused before any model call).
        "".join(out[mode].llm.stream([HumanMessage("Bonjour.")], max_tokens=2))
    return out


def run_modes(
    answerers: dict[str, Answerer], store: Store, items: list[Item]
) -> dict[str, list[tuple[Outcome, Answer]]]:
    """Mode k asks item i - k in round i: the modes alternate on the machine, never on one question in a row."""
    got: dict[str, list[tuple[Outcome, Answer]]] = {m: [] for m in answerers}
    for i in range(len(items) + len(answerers) - 1):
        for k, (mode, answerer) in enumerate(answerers.items()):
            if 0 <= i - k < len(items):
                got[mode].append(ask_veille(answerer, items[i - k], store))
        print(f"  round {i + 1}", file=sys.stderr, flush=True)
    return got


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=30, help="PIAF questions asked as a second turn")
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "followups.md")
    args = ap.parse_args()
    started = time.time()
    rule = rule_alone(args.data)
    sets: dict[str, dict[str, list[tuple[Outcome, Answer]]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        paragraphs, pitems = piaf_items(args.data, args.n, offset=2)
        pstore, _ = piaf_store(Path(tmp) / "piaf", paragraphs)
        name = f"PIAF dev, {len(pitems)} questions asked as a second turn"
        sets[name] = run_modes(answerers_for(pstore, Path(tmp)), pstore, chat_items(pitems))
        sample = Store(Settings(data_dir=Path(tmp) / "sample"))
        Ingestor(sample).ingest(list(read_inputs([ROOT / "examples" / "articles"], ReadOptions())))
        seeds = [it for it in seed_items() if it.history]
        sets["sample corpus, the seed set's follow-ups"] = run_modes(answerers_for(sample, Path(tmp)), sample, seeds)

    lines = [
        f"# Follow-up questions: rewritten only where they point back — {date.today().isoformat()}",
        "",
        f"Machine: {machine_line()}. Command: `python -m benchmarks.followups {' '.join(sys.argv[1:])}` "
        f"({(time.time() - started) / 60:.0f} min).",
        "",
        f"The rule alone: of {rule['piaf_questions']} PIAF dev questions, **{rule['piaf_stand_alone']:.1%} stand "
        f"alone** (no rewrite call in a chat); {rule['rule_ms']:.3f} ms a question. The seed set's follow-ups: "
        + ", ".join(f"“{q}” → {'rewritten' if back else 'NOT rewritten'}" for q, back in rule["seed_followups"])
        + ".",
        "",
        "Some PIAF questions the rule sends to the rewrite: "
        + "; ".join(f"“{q}”" for q in rule["flagged_sample"])
        + ".",
        "",
        "| set | mode | n | p50 s | p95 s | mean s | LLM calls / answer | rewritten | right | wrong | refused |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    payload: dict[str, Any] = {"rule": rule, "sets": {}}
    for name, got in sets.items():
        payload["sets"][name] = {}
        for mode in MODES:
            s = summary(got[mode])
            payload["sets"][name][mode] = {**s, "items": [o.__dict__ for o, _ in got[mode]]}
            lines.append(
                f"| {name} | {mode} | {s['n']} | {s['p50']:.2f} | {s['p95']:.2f} | {s['mean']:.2f} | "
                f"{s['llm_calls']:.2f} | {s['rewritten']} | {s['right']} | {s['wrong']} | {s['refused']} |"
            )
        before, shipped = got[next(iter(MODES))], got[list(MODES)[-1]]
        changed = [
            (a1, a2)
            for (o1, a1), (o2, a2) in zip(before, shipped, strict=True)
            if (o1.refused, o1.right) != (o2.refused, o2.right)
        ]
        lines += ["", f"{name}: {len(changed)} verdicts differ between the first mode and the shipped one."]
        for a1, a2 in changed:
            lines.append(
                f"- “{a1.question}” — before (asked as “{a1.standalone_question}”): {a1.text[:160]} | "
                f"shipped (asked as “{a2.standalone_question}”): {a2.text[:160]}"
            )
        lines.append("")
    report = "\n".join(lines) + "\n"
    print(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report, encoding="utf-8")
    args.out.with_suffix(".json").write_text(json.dumps(payload, ensure_ascii=False, indent=1, default=str), "utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
