"""The layers import one way: veille/ at the bottom, index/ above it, then rag/, then the shells.

Every import counts, the lazy ones inside functions included: a cycle hidden in a function body is
still a cycle for whoever has to change either side.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("veille", "index", "rag", "api", "evals", "cli", "benchmarks")
# What each package may import of ours; everything not listed is forbidden.
ALLOWED = {
    "veille": set(),
    "index": {"veille"},
    "rag": {"veille", "index"},
    "api": {"veille", "index", "rag"},
    "evals": {"veille", "index", "rag"},
    "cli": {"veille", "index", "rag", "api", "evals"},
    "benchmarks": {"veille", "index", "rag", "api", "evals"},
}


def imports_of(package: str) -> dict[str, list[str]]:
    """{imported top-level package: [file:line, ...]} for every import in the package's files."""
    found: dict[str, list[str]] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top in PACKAGES and top != package:
                    found.setdefault(top, []).append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_each_package_imports_only_the_layers_below_it() -> None:
    wrong = {
        f"{pkg} -> {other}": where[:3]
        for pkg in PACKAGES
        for other, where in imports_of(pkg).items()
        if other not in ALLOWED[pkg]
    }
    assert not wrong, wrong


def test_the_allowed_graph_has_no_cycle() -> None:
    # The table above is itself a layering (each package above all it may import), so obeying it
    # means no cycle; this keeps a future edit of the table honest.
    order: list[str] = []
    pending = dict(ALLOWED)
    while pending:
        ready = [p for p, deps in pending.items() if deps <= set(order)]
        assert ready, f"cycle among {sorted(pending)}"
        order += sorted(ready)
        for p in ready:
            del pending[p]
    assert order.index("veille") < order.index("index") < order.index("rag") < order.index("cli")
