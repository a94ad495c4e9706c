"""Prompt templates are files in prompts/, loaded by name and language."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

PROMPTS_DIR = Path(__file__).resolve().parents[2] / "prompts"
LANGUAGES = ("fr", "en")


@lru_cache(maxsize=64)
def load(name: str, lang: str) -> str:
    lang = lang if lang in LANGUAGES else "fr"
    path = PROMPTS_DIR / f"{name}.{lang}.txt"
    if not path.exists():
        raise FileNotFoundError(f"missing prompt template {path}")
    return path.read_text(encoding="utf-8").strip()


def render(name: str, lang: str, **values: str) -> str:
    return load(name, lang).format(**values)
