"""Gold sets: the documented file format (YAML or JSONL) and the PIAF loader.

See evals/gold/README.md for the format. Items are pydantic models, so a typo in
a gold file is an error that names the item and the field, not a silent zero.
"""

from __future__ import annotations

import gzip
import json
from datetime import date
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator


class GoldError(ValueError):
    """A gold file that cannot be used: the message names the file and what to fix."""


class Fact(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1)
    aliases: list[str] = Field(default_factory=list)

    @property
    def forms(self) -> list[str]:
        return [self.text, *self.aliases]


class ItemFilters(BaseModel):
    model_config = ConfigDict(extra="forbid")
    since: date | None = None
    until: date | None = None
    sources: list[str] = Field(default_factory=list)


class HistoryTurn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["user", "assistant"]
    content: str


class QAItem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    question: str = Field(min_length=1)
    lang: Literal["fr", "en"] = "fr"
    gold_facts: list[Fact] = Field(default_factory=list)
    # Articles that answer it: an article id, a source name or an exact title.
    gold_articles: list[str] = Field(default_factory=list)
    answerable: bool = True
    filters: ItemFilters = Field(default_factory=ItemFilters)
    as_of: date | None = None
    history: list[HistoryTurn] = Field(default_factory=list)  # earlier turns: the question is a follow-up
    tags: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _facts_when_answerable(self) -> QAItem:
        if self.answerable and not self.gold_facts:
            raise ValueError("an answerable item needs gold_facts")
        if not self.answerable and self.gold_facts:
            raise ValueError("an unanswerable item has no gold_facts")
        return self


class DigestItem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    since: date
    until: date | None = None
    sources: list[str] = Field(default_factory=list)
    max_stories: int = Field(default=8, ge=1)
    facts: list[Fact] = Field(min_length=1)  # what a good briefing of the window must say


class GoldSet(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    description: str = ""
    # Articles to ingest before running (paths relative to the gold file); empty: use the configured store.
    corpus: list[str] = Field(default_factory=list)
    items: list[QAItem] = Field(default_factory=list)
    digests: list[DigestItem] = Field(default_factory=list)
    base_dir: Path = Field(default=Path("."), exclude=True)

    @model_validator(mode="after")
    def _unique_ids(self) -> GoldSet:
        ids = [i.id for i in self.items] + [d.id for d in self.digests]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"duplicate item ids: {', '.join(dupes)}")
        return self


def load_gold(spec: str) -> GoldSet:
    """A YAML/JSON gold file, a JSONL file of items, or `piaf:PATH[:N]` (PIAF questions, read in place)."""
    if spec.startswith("piaf:"):
        rest = spec[5:]
        path_s, _, n_s = rest.rpartition(":") if rest.rsplit(":", 1)[-1].isdigit() else (rest, "", "")
        return piaf_gold(Path(path_s), int(n_s) if n_s else 50)
    path = Path(spec)
    if not path.exists():
        raise GoldError(f"{path}: no such gold file")
    try:
        if path.suffix == ".jsonl":
            items = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
            data = {"name": path.stem, "items": items}
        else:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise GoldError(f"{path}: not valid {path.suffix.lstrip('.').upper() or 'YAML'}: {exc}") from exc
    if not isinstance(data, dict):
        raise GoldError(f"{path}: expected a mapping with name and items")
    try:
        return GoldSet.model_validate({**data, "base_dir": path.parent})
    except ValidationError as exc:
        raise GoldError(f"{path}: {exc}") from exc


def piaf_gold(path: Path, n: int) -> GoldSet:
    """n PIAF questions spread over the file (every k-th), their paragraphs as the corpus.

    The paragraphs are ingested from the same file by the runner (`piaf_corpus`), never copied."""
    if not path.exists():
        raise GoldError(f"{path}: PIAF file not found (expected piaf-dev.jsonl.gz from ../shared/data)")
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        paragraphs = [json.loads(line) for line in fh]
    flat = [(p["id"], q) for p in paragraphs for q in p["questions"]]
    step = max(1, len(flat) // max(1, n))
    items = [
        QAItem(
            id=f"piaf-{i}",
            question=q["question"],
            gold_facts=[Fact(text=q["answers"][0], aliases=list(dict.fromkeys(q["answers"][1:])))],
            gold_articles=[pid],
        )
        for i, (pid, q) in enumerate(flat[::step][:n])
    ]
    return GoldSet(name=f"piaf-{n}", corpus=[f"piaf:{path}"], items=items, base_dir=path.parent)
