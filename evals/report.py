"""Aggregate item verdicts into metrics, check thresholds, diff against a baseline, write reports."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from evals import metrics as m
from evals.measures import METRICS, verdict_ok
from evals.runner import ItemResult

_RULE = re.compile(r"^\s*(>=|<=)\s*(-?\d+(?:\.\d+)?)\s*$")


def aggregate(items: list[ItemResult]) -> dict[str, float | None]:
    out: dict[str, float | None] = {
        name: metric.aggregate([i.verdicts.get(metric.verdict) for i in items]) for name, metric in METRICS.items()
    }
    qa = [i for i in items if i.kind == "qa" and i.latency_s is not None]
    out["latency_p50_s"] = m.percentile([i.latency_s for i in qa if i.latency_s is not None], 0.5)
    out["latency_p95_s"] = m.percentile([i.latency_s for i in qa if i.latency_s is not None], 0.95)
    out["ttft_p50_s"] = m.percentile([i.ttft_s for i in qa if i.ttft_s is not None], 0.5)
    out["ttft_p95_s"] = m.percentile([i.ttft_s for i in qa if i.ttft_s is not None], 0.95)
    out["prompt_tokens_mean"] = m.mean(i.prompt_tokens for i in qa)
    out["errors"] = float(sum(i.error is not None for i in items))
    return out


def load_thresholds(path: Path | None, extra: list[str]) -> dict[str, str]:
    rules: dict[str, str] = {}
    if path is not None:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(data, dict):
            raise ValueError(f"{path}: expected a mapping of metric: '>= value' or '<= value'")
        rules.update({str(k): str(v) for k, v in data.items()})
    for spec in extra:
        name, sep, value = spec.partition("=")
        if not sep:
            raise ValueError(f"--fail-under takes metric=value (got {spec!r})")
        rules[name.strip()] = f">= {value.strip()}"
    return rules


@dataclass
class Failure:
    metric: str
    rule: str
    value: float | None
    items: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        got = "n/a" if self.value is None else f"{self.value:.3f}"
        named = f" (failing items: {', '.join(self.items)})" if self.items else ""
        return f"{self.metric} = {got}, required {self.rule}{named}"


def check(metrics: dict[str, float | None], rules: dict[str, str], items: list[ItemResult]) -> list[Failure]:
    failures = []
    known = set(metrics)
    for name, rule in rules.items():
        if name not in known:
            raise ValueError(f"unknown metric {name!r} in thresholds; known: {', '.join(sorted(known))}")
        match = _RULE.match(rule)
        if not match:
            raise ValueError(f"threshold for {name} must look like '>= 0.8' or '<= 0.2' (got {rule!r})")
        op, bound = match.group(1), float(match.group(2))
        value = metrics[name]
        ok = value is not None and (value >= bound if op == ">=" else value <= bound)
        if not ok:
            verdict = METRICS.get(name).verdict if name in METRICS.names() else None
            bad = [
                i.id
                for i in items
                if i.error is not None
                or (
                    verdict is not None
                    and i.verdicts.get(verdict) is not None
                    and not verdict_ok(verdict, i.verdicts[verdict])
                )
            ]
            failures.append(Failure(name, rule, value, bad))
    return failures


def diff(metrics: dict[str, float | None], items: list[ItemResult], baseline: dict[str, Any]) -> dict[str, Any]:
    before = baseline.get("metrics", {})
    deltas = {k: (None if v is None or before.get(k) is None else round(v - before[k], 4)) for k, v in metrics.items()}
    passed_before = {i["id"] for i in baseline.get("items", []) if i.get("passed")}
    regressed = [i.id for i in items if i.id in passed_before and not i.passed]
    return {"baseline": baseline.get("name"), "deltas": deltas, "regressed": regressed}


def build_report(
    name: str,
    items: list[ItemResult],
    metrics: dict[str, float | None],
    rules: dict[str, str],
    failures: list[Failure],
    context: dict[str, Any],
    baseline_diff: dict[str, Any] | None,
) -> dict[str, Any]:
    return {
        "name": name,
        **context,
        "metrics": metrics,
        "thresholds": rules,
        "failures": [asdict(f) for f in failures],
        "baseline_diff": baseline_diff,
        "items": [{**asdict(i), "passed": i.passed} for i in items],
    }


def _fmt(v: Any) -> str:
    if v is None:
        return "n/a"
    return f"{v:.3f}" if isinstance(v, float) else str(v)


def markdown(report: dict[str, Any]) -> str:
    lines = [
        f"# Eval: {report['name']}",
        "",
        f"{report.get('date', '')} · {report.get('machine', '')} · LLM {report.get('llm', '')} · "
        f"embedder {report.get('embedder', '')} · {len(report['items'])} items",
        "",
        "| metric | value | threshold | vs baseline |",
        "|---|---|---|---|",
    ]
    deltas = (report.get("baseline_diff") or {}).get("deltas", {})
    for k, v in report["metrics"].items():
        lines.append(f"| {k} | {_fmt(v)} | {report['thresholds'].get(k, '')} | {_fmt(deltas.get(k))} |")
    if report["failures"]:
        lines += ["", "## Failed thresholds", ""]
        for f in report["failures"]:
            lines.append(f"- {Failure(**f)}")
    regressed = (report.get("baseline_diff") or {}).get("regressed")
    if regressed:
        lines += ["", f"Regressed since the baseline: {', '.join(regressed)}"]
    lines += ["", "## Items", ""]
    for i in report["items"]:
        mark = "pass" if i["passed"] else "FAIL"
        answer = (i["answer"] or i.get("error") or "").replace("\n", " ")[:160]
        bad = [k for k, v in i["verdicts"].items() if not verdict_ok(k, v)]
        lines.append(f"- [{mark}] {i['id']}: {i['question']} → {answer}" + (f" ({', '.join(bad)})" if bad else ""))
    return "\n".join(lines) + "\n"


def write(report: dict[str, Any], out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = re.sub(r"[^\w.-]+", "-", report["name"])
    j, md = out_dir / f"{stem}.json", out_dir / f"{stem}.md"
    j.write_text(json.dumps(report, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    md.write_text(markdown(report), encoding="utf-8")
    return j, md
