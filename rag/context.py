"""Choosing what the model reads: the best window of each top passage, within a token budget.

Prompt reading dominates latency on a CPU (~85 prompt tokens/s for the embedded
model), so each passage is cut to the run of sentences that best matches the
question; the cut stays a contiguous span of the article, so offsets hold.
"""

from __future__ import annotations

import re
from dataclasses import replace

from index.french import analyze
from index.sentences import sentence_spans
from index.tokens import count_tokens
from rag.injection import MASK, is_instruction_like
from rag.retrieval import Passage


def _gain(text: str, terms: set[str]) -> int:
    return len(terms & set(analyze(text)))


def _best_window(p: Passage, terms: set[str], budget: int) -> Passage:
    if count_tokens(p.text) <= budget:
        return p
    sents = sentence_spans(p.text)
    if not sents:
        return p
    costs = [count_tokens(p.text[s:e]) for s, e in sents]
    gains = [len(terms & set(analyze(p.text[s:e]))) for s, e in sents]
    best = (-1.0, 0, 0)
    for i in range(len(sents)):
        total, gain, j = 0, 0, i
        while j < len(sents) and (j == i or total + costs[j] <= budget):
            total += costs[j]
            gain += gains[j]
            j += 1
        # Prefer windows that match more question terms, then earlier ones (ledes carry facts).
        score = gain - 0.01 * i
        if score > best[0]:
            best = (score, i, j)
    _, i, j = best
    s, e = sents[i][0], sents[j - 1][1]
    return replace(p, text=p.text[s:e], start=p.start + s, end=p.start + e)


def _overlap(a: Passage, b: Passage) -> float:
    if a.article_id != b.article_id:
        return 0.0
    inter = min(a.end, b.end) - max(a.start, b.start)
    return max(0, inter) / max(1, min(a.end - a.start, b.end - b.start))


def _without_shown(p: Passage, chosen: list[Passage]) -> Passage | None:
    """Cut off the head or tail of p that an already chosen window of its article shows."""
    start, end = p.start, p.end
    for c in chosen:
        if c.article_id != p.article_id or c.end <= start or c.start >= end:
            continue
        if c.start <= start:
            start = max(start, c.end)
        elif c.end >= end:
            end = min(end, c.start)
    if end - start < 20:
        return None
    text = p.text[start - p.start : end - p.start]
    lead = len(text) - len(text.lstrip())
    trail = len(text) - len(text.rstrip())
    return replace(p, text=text.strip(), start=start + lead, end=end - trail)


def select_context(passages: list[Passage], question: str, n: int, budget: int, per_passage: int) -> list[Passage]:
    """Up to n windows, best first, no text shown twice; past the first, each shares two question terms."""
    terms = set(analyze(question))
    chosen: list[Passage] = []
    used = 0
    for rank, candidate in enumerate(passages[:n]):
        rest = _without_shown(candidate, chosen)
        if rest is None:
            continue
        window = _best_window(rest, terms, per_passage)
        if any(_overlap(window, c) > 0.5 for c in chosen):
            continue  # chunks overlap by design; showing the same sentences twice wastes the budget
        if rank >= 1 and terms and _gain(window.text, terms) < min(2, len(terms)):
            continue
        cost = count_tokens(window.text)
        if chosen and used + cost > budget:
            break
        chosen.append(window)
        used += cost
    return chosen


def _is_heading(line: str) -> bool:
    words = line.split()
    return 0 < len(words) <= 12 and not re.search(r"[.!?…:;»\"”)]\s*$", line)


def render_passage(p: Passage) -> str:
    """The passage as the model sees it, instruction-like sentences masked.

    Only source and date head it: titles summarise the whole article, and a small model
    takes a title's facts for the passage's.
    """
    text = p.text
    for s, e in reversed(sentence_spans(text)):
        if is_instruction_like(text[s:e]):
            text = text[:s] + MASK + text[e:]
    # Section headings ("Le facteur russe à proximité, mais séparé") state nothing a claim can rest
    # on, yet a small model copies them as its quote: the model does not see them.
    text = "\n".join(line for line in text.split("\n") if not _is_heading(line))
    head = ", ".join(x for x in (p.source, p.date) if x)
    return (f"({head})\n" if head else "") + text
