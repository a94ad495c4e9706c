"""The CI gate: the seed gold set through the real pipeline (embedded LLM), under the committed
thresholds (evals/thresholds.yaml). `pytest evals/` runs it; so does `.ci/run`.

The report goes to VEILLE_EVAL_REPORT_DIR if set, else a temporary folder; the committed baseline
(evals/baseline/seeds.json) is only diffed against, never rewritten by a test.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from evals.evaluate import evaluate
from veille.settings import Settings

HERE = Path(__file__).resolve().parent
pytestmark = pytest.mark.slow


def test_seed_gold_set_meets_the_thresholds(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path / "data")  # type: ignore[call-arg]
    report_dir = Path(settings.eval_report_dir) if settings.eval_report_dir else tmp_path / "report"
    baseline = HERE / "baseline" / "seeds.json"
    [outcome] = evaluate(
        [str(HERE / "gold" / "seeds.yaml")],
        settings,
        thresholds=HERE / "thresholds.yaml",
        baseline=baseline if baseline.exists() else None,
        report_dir=report_dir,
    )
    print(f"eval report: {outcome.paths}")
    assert not outcome.failures, "\n".join(str(f) for f in outcome.failures)
