"""Extensions that live outside this repository: modules named in VEILLE_PLUGINS are imported once
when the application starts, and register themselves (an input format, a reranker, an LLM backend)
with the registries' decorators. The module is the new file; its decorator is the registration line.
"""

from __future__ import annotations

import importlib


def load_plugins(spec: str) -> list[str]:
    """Import each comma-separated module of `spec`; the names imported, or ValueError saying which
    one failed and why."""
    loaded = []
    for raw in spec.split(","):
        name = raw.strip()
        if not name:
            continue
        try:
            importlib.import_module(name)
        except Exception as exc:  # a broken plugin is a configuration error, said at start-up
            raise ValueError(f"VEILLE_PLUGINS: cannot import {name!r}: {type(exc).__name__}: {exc}") from exc
        loaded.append(name)
    return loaded
