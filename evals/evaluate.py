"""One call for the CLI and the pytest gate: load gold sets, run them, score, check, report."""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from evals.gold import load_gold
from evals.judge import LLMJudge
from evals.report import Failure, aggregate, build_report, check, diff, load_thresholds, write
from evals.runner import ItemResult, Runner, temporary_service
from rag.service import Veille
from veille.settings import Settings


@dataclass
class Outcome:
    name: str
    report: dict[str, Any]
    failures: list[Failure]
    items: list[ItemResult]
    paths: tuple[Path, Path] | None


class _Steps:
    def __init__(self, progress: Callable[[str, int, int], None] | None, total: int) -> None:
        self.progress, self.total, self.done = progress, total, 0

    def __call__(self, item_id: str) -> None:
        if self.progress:
            self.progress(item_id, self.done, self.total)
        self.done += 1


def _machine() -> str:
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        cpu = next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("model name")), "?")
    except OSError:
        cpu = platform.processor() or "?"
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}"


def evaluate(
    specs: list[str],
    settings: Settings,
    thresholds: Path | None = None,
    fail_under: list[str] | None = None,
    baseline: Path | None = None,
    report_dir: Path | None = None,
    judge: bool = False,
    progress: Callable[[str, int, int], None] | None = None,
) -> list[Outcome]:
    rules = load_thresholds(thresholds, fail_under or [])
    base = json.loads(baseline.read_text(encoding="utf-8")) if baseline else None
    outcomes = []
    for spec in specs:
        gold = load_gold(spec)
        with ExitStack() as stack:
            if gold.corpus:
                app, tmp = temporary_service(settings, gold)
                stack.callback(tmp.cleanup)
            else:
                app = Veille(settings)
            stack.callback(app.close)
            llm_judge = LLMJudge(app.llm) if judge else None
            runner = Runner(app, judge=llm_judge)
            items = runner.run(gold, _Steps(progress, len(gold.items) + len(gold.digests)))
        metrics = aggregate(items)
        failures = check(metrics, rules, items)
        context = {
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": _machine(),
            "llm": settings.llm if settings.llm == "embedded" else f"{settings.llm}:{settings.llm_model}",
            "embedder": settings.embedder,
            "gold": spec,
        }
        base_diff = diff(metrics, items, base) if base and base.get("name") == gold.name else None
        report = build_report(gold.name, items, metrics, rules, failures, context, base_diff)
        paths = write(report, report_dir) if report_dir else None
        outcomes.append(Outcome(gold.name, report, failures, items, paths))
    return outcomes
