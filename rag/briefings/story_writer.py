"""Writing one story: a headline and one bullet per chosen source unit, each verified.

The model only rewords sentences chosen in code (rag/briefings/keysentences.py); it never
picks facts. Each bullet is checked against the unit it was written from — the
names and numbers it asserts must be there, and most of its words, and it must
keep the names and numbers the story's outlets share from that unit — and then
cited to every article of the story that carries the same statement. A bullet
that fails is replaced by its source sentence, shown as a quote; a headline with a
name, number or content word absent from the units and titles falls back to the lead
article's title.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from index.catalog import ArticleRecord
from rag.answers.drafts import load_json_lenient
from rag.briefings.digest_models import Bullet, SpanRef
from rag.briefings.keysentences import Unit, article_units
from rag.details import contains_detail, key_details, missing_details, unsupported_terms
from rag.generation import prompts
from rag.generation.llm import ChatLLM, Usage
from veille.text.french import analyze
from veille.text.injection import is_instruction_like

MIN_WORD_COVERAGE = 0.5
_MAX_HEADLINE_WORDS = 16


@dataclass
class WrittenStory:
    headline: str
    bullets: list[Bullet]
    llm_calls: int
    prompt_tokens: int | None = None


def story_schema(n: int) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "titre": {"type": "string"},
            "points": {"type": "array", "items": {"type": "string"}, "minItems": n, "maxItems": n},
        },
        "required": ["titre", "points"],
    }


def span_of(unit: Unit) -> SpanRef:
    return SpanRef(unit.article.id, unit.start, unit.end, unit.text)


def supported_by(text: str, source: str) -> bool:
    """The text's names and numbers are in the source, and most of its words."""
    if not re.search(r"\w\w", text) or is_instruction_like(text):
        return False
    if missing_details(text, source):
        return False
    terms = set(analyze(text))
    if not terms:
        return False
    return len(terms & set(analyze(source))) >= MIN_WORD_COVERAGE * len(terms)


def supporting_spans(text: str, unit: Unit, articles: Sequence[ArticleRecord]) -> list[SpanRef]:
    """The unit's span, then the best span of every other article that says the same."""
    spans = [span_of(unit)]
    terms = set(analyze(text))
    for a in articles:
        if a.id == unit.article.id:
            continue
        best: tuple[float, Unit] | None = None
        for u in article_units(a):
            if not supported_by(text, u.text):
                continue
            cover = len(terms & set(analyze(u.text))) / max(1, len(terms))
            if best is None or cover > best[0]:
                best = (cover, u)
        if best is not None:
            spans.append(span_of(best[1]))
    return spans


def shared_details(unit: Unit, articles: Sequence[ArticleRecord]) -> set[str]:
    """The unit's names and numbers that at least two of the story's articles carry: what the unit
    was chosen for, so a bullet written from it must keep them."""
    if len(articles) < 2:
        return set()
    return {d for d in key_details(unit.text) if sum(contains_detail(a.text, d) for a in articles) >= 2}


def _clean(text: str) -> str:
    text = re.sub(r"\s+", " ", text).strip().strip("-•* ")
    return re.sub(r"\s*\[\d+\]", "", text)  # markers are ours to add


def fallback_headline(articles: Sequence[ArticleRecord], units: Sequence[Unit]) -> str:
    for a in articles:
        if a.title.strip():
            return a.title.strip()
    words = units[0].text.split() if units else ["(sans titre)"]
    return " ".join(words[:12]) + ("…" if len(words) > 12 else "")


class StoryWriter:
    def __init__(self, llm: ChatLLM, max_tokens: int = 260) -> None:
        self.llm = llm
        self.max_tokens = max_tokens

    def messages(self, units: Sequence[Unit], lang: str) -> list[BaseMessage]:
        shown = "\n".join(
            f"[{i}] ({u.article.source or 'source inconnue'}, {u.article.date}) {u.text}"
            for i, u in enumerate(units, start=1)
        )
        return [
            SystemMessage(prompts.render("digest_system", lang)),
            HumanMessage(prompts.render("digest_user", lang, units=shown, n=str(len(units)))),
        ]

    def write(self, articles: Sequence[ArticleRecord], units: Sequence[Unit], lang: str) -> WrittenStory:
        if not units:
            return WrittenStory(fallback_headline(articles, units), [], 0)
        usage = Usage()
        messages = self.messages(units, lang)
        raw = "".join(
            self.llm.stream(messages, schema=story_schema(len(units)), max_tokens=self.max_tokens, usage=usage)
        )
        data = load_json_lenient(raw)
        headline_raw = data.get("titre") if isinstance(data, dict) else None
        points_raw = data.get("points") if isinstance(data, dict) else None
        points = [p if isinstance(p, str) else "" for p in points_raw] if isinstance(points_raw, list) else []
        bullets = []
        for i, unit in enumerate(units):
            text = _clean(points[i]) if i < len(points) else ""
            dropped = [d for d in shared_details(unit, articles) if not contains_detail(text, d)]
            if supported_by(text, unit.text) and not dropped:
                bullets.append(Bullet(text, supporting_spans(text, unit, articles)))
            else:
                quote = re.sub(r"\s+", " ", unit.text).strip()
                bullets.append(Bullet(quote, supporting_spans(quote, unit, articles), extractive=True))
        headline = _clean(headline_raw) if isinstance(headline_raw, str) else ""
        all_units = " ".join(u.text for u in units) + " " + " ".join(a.title for a in articles)
        if (
            not headline
            or len(headline.split()) > _MAX_HEADLINE_WORDS
            or is_instruction_like(headline)
            or missing_details(headline, all_units)
            # Every word of it, not only names: a headline is read as a claim
            # ("la masseuse qui a commis un délit" over an article that says no such thing).
            or unsupported_terms(headline, all_units)
        ):
            headline = fallback_headline(articles, units)
        return WrittenStory(headline, bullets, 1, usage.prompt_tokens or self.llm.count_tokens(messages))
