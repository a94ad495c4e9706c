"""Where answerable PIAF questions are lost: retrieval, sentence selection, the model, or the verifier.

For each question (a slice of PIAF dev disjoint from `benchmarks.answers`' items, so that what is
tuned here is not what is reported there), the gold answer is looked for at every stage:

- retrieved: in the passages the retriever returned;
- shown: in the numbered sentences the model read;
- cited: in the sentences the model named;
- drafted: in the model's own answer, before verification;
- final: in the answer the user got (refusal = not).

The first stage where the gold answer is missing is the loss; a final answer without it after a
draft that had it is a verifier loss.

With --unanswerable, each question is asked again with its own paragraph deleted from the store.
--dump keeps every answer (with the sentences the model read and what it wrote) in a pickle, and
--replay re-verifies such a file with the current verifier, without the model: a verifier rule can
then be measured on wrong answers stopped against right answers refused in seconds.

    python -m benchmarks.answer_losses [--n 60] [--offset 1] [--unanswerable] [--dump F] [--replay F]
"""

from __future__ import annotations

import argparse
import pickle
import re
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.answers import machine_line, piaf_items, piaf_store, reverify  # noqa: E402
from evals.metrics import fact_in, normalise, token_f1  # noqa: E402
from index.ingest import Ingestor  # noqa: E402
from rag.answers.answer import Answer, Answerer  # noqa: E402
from rag.answers.drafts import parse_grounded  # noqa: E402
from rag.answers.support import Judge  # noqa: E402
from rag.retrieval import Passage  # noqa: E402

STAGES = ("retrieved", "shown", "cited", "drafted", "final")


def _has(gold: list[str], text: str) -> bool:
    return any(fact_in([g], text) for g in gold)


def part_of_gold(gold: list[str], text: str) -> bool:
    """The answer's words all stand, in a row, inside a gold span that is longer: "1015" for "vers
    1015", "Johannes Schmidt" for "Le linguiste Johannes Schmidt". Containment counts these wrong;
    the count says how much of "wrong" is that (a short answer), not another fact."""
    said = re.sub(r"\[\d+\]", " ", text)
    return any(len(normalise(g)) > len(normalise(said)) and fact_in([said], g) for g in gold)


def _stage(gold: list[str], ans: Answer, retrieved: str) -> tuple[str, str]:
    """(state, stage where the gold answer was lost) of one answerable question."""
    draft = parse_grounded(ans.raw_output)
    by_id = {s.n: s.text for s in ans.sentences}
    reached = {
        "retrieved": _has(gold, retrieved),
        "shown": _has(gold, " ".join(by_id.values())),
        "cited": _has(gold, " ".join(by_id.get(i, "") for i in draft.ids)),
        "drafted": _has(gold, draft.answer),
    }
    if not ans.refused and _has(gold, ans.text):
        return "right", ""
    state = "refused" if ans.refused else "wrong"
    lost = next((s for s in STAGES[:-1] if not reached[s]), "verifier")
    return state, lost


def _line(question: str, gold: list[str] | None, ans: Answer, state: str, lost: str) -> str:
    draft = parse_grounded(ans.raw_output)
    why = "; ".join(filter(None, [ans.refusal_reason, *ans.dropped_claims]))
    return (
        f"- [{state}{'; lost at ' + lost if lost else ''}] {question} → gold {gold[0] if gold else None!r} | "
        f"draft {draft.answer!r} ids {list(draft.ids)} | final {ans.text[:200]!r} | {why}"
    )


def report(records: list[Record], title: str) -> str:
    losses: Counter[str] = Counter()
    lines = []
    unans = [r for r in records if r.gold is None]
    for r in records:
        if r.gold is None:
            state, lost = ("refused (right)" if r.answer.refused else "answered (wrong)"), ""
        else:
            state, lost = _stage(r.gold, r.answer, r.retrieved)
            losses[lost or "right"] += 1
        lines.append(_line(r.question, r.gold, r.answer, state, lost))
    n = len(records) - len(unans)
    table = ["| where the gold answer was lost | items | share |", "|---|---:|---:|"]
    for key in ("right", *STAGES[:-1], "verifier"):
        table.append(f"| {key} | {losses[key]} | {losses[key] / max(n, 1):.2f} |")
    if unans:
        refused = sum(r.answer.refused for r in unans)
        table.append(f"| unanswerable refused | {refused} / {len(unans)} | {refused / len(unans):.2f} |")
    head = f"# {title}\n\nMachine: {machine_line()}\n\n"
    return head + "\n".join(table) + "\n\nPer item:\n\n" + "\n".join(lines) + "\n"


def replay(records: list[Record]) -> str:
    """The recorded model outputs re-verified with the current code: right / wrong / refused."""
    rows = [
        "| set | n | right | wrong | of which a part of the gold span | refused | token F1 |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    sets = {"answerable": [r for r in records if r.gold], "unanswerable": [r for r in records if r.gold is None]}
    for name, subset in sets.items():
        right = wrong = partial = refused = 0
        f1 = 0.0
        for r in subset:
            kept, text = reverify(r.answer, Judge())
            f1 += token_f1(r.gold, text) if r.gold and kept else 0.0
            if not kept:
                refused += 1
            elif r.gold and _has(r.gold, text):
                right += 1
            else:
                wrong += 1
                partial += bool(r.gold and part_of_gold(r.gold, text))
        n = max(len(subset), 1)
        rows.append(
            f"| {name} | {len(subset)} | {right / n:.2f} | {wrong / n:.2f} | {partial / n:.2f} | {refused / n:.2f} | "
            f"{f1 / n if name == 'answerable' else float('nan'):.2f} |"
        )
    return "\n".join(rows)


@dataclass
class Record:
    question: str
    gold: list[str] | None  # None: the question's own paragraph was not in the store
    answer: Answer
    retrieved: str  # the text of the passages retrieved, to tell retrieval losses from later ones
    candidates: list[Passage] = field(default_factory=list)  # those passages, to replay sentence selection


# Where the answer engine's modules lived before rag/ was split by job: dumps recorded then still load.
_MOVED = {
    **{f"rag.{m}": f"rag.answers.{m}" for m in ("answer", "drafts", "extractive", "grounding", "support", "verify")},
    **{f"rag.{m}": f"rag.generation.{m}" for m in ("llm", "prompts")},
}


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        return super().find_class(_MOVED.get(module, module), name)


def _load(path: Path) -> list[Record]:
    with path.open("rb") as fh:
        records: list[Record] = _Unpickler(fh).load()
    return records


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=60)
    ap.add_argument("--offset", type=int, default=1, help="start of the slice inside each step of the file")
    ap.add_argument("--unanswerable", action="store_true", help="also ask each without its own paragraph")
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--dump", type=Path, help="keep the answers in this pickle")
    ap.add_argument("--replay", type=Path, help="re-verify the answers of this pickle (no model)")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "answer-losses.md")
    args = ap.parse_args()

    if args.replay:
        print(replay(_load(args.replay)))
        return 0

    paragraphs, items = piaf_items(args.data, args.n, args.offset)

    records: list[Record] = []
    with tempfile.TemporaryDirectory() as tmp:
        store, arts = piaf_store(Path(tmp) / "piaf", paragraphs)
        answerer = Answerer(store)
        answerer.warm_up()

        def ask(question: str, gold: list[str] | None) -> None:
            ans = answerer.answer(question)
            candidates = answerer.retriever.retrieve(question, k=store.settings.answer_passages)
            records.append(Record(question, gold, ans, " ".join(p.text for p in candidates), candidates))
            print(report(records[-1:], "").split("Per item:")[1].strip(), flush=True)

        for _, item in items:
            assert item.gold is not None
            ask(item.question, item.gold[0])
        if args.unanswerable:
            for pid, item in items:
                Ingestor(store).delete([pid])
                ask(item.question, None)
                Ingestor(store).ingest([arts[pid]])

    if args.dump:
        args.dump.write_bytes(pickle.dumps(records))
    text = report(records, f"Answer losses on PIAF dev ({len(items)} questions, offset {args.offset})")
    args.out.write_text(text, encoding="utf-8")
    print(text.split("Per item:")[0])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
