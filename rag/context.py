"""Choosing what the model reads: the best window of each top passage, within a token budget.

Prompt reading dominates latency on a CPU (~85 prompt tokens/s for the embedded
model), so each passage is cut to the run of sentences that best matches the
question; the cut stays a contiguous span of the article, so offsets hold.
"""

from __future__ import annotations

from dataclasses import replace

from index.french import analyze
from index.sentences import sentence_spans
from index.tokens import count_tokens
from rag.injection import MASK, is_instruction_like
from rag.retrieval import Passage


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


def select_context(passages: list[Passage], question: str, n: int, budget: int, per_passage: int) -> list[Passage]:
    terms = set(analyze(question))
    chosen: list[Passage] = []
    used = 0
    for p in passages[:n]:
        window = _best_window(p, terms, per_passage)
        cost = count_tokens(window.text)
        if chosen and used + cost > budget:
            break
        chosen.append(window)
        used += cost
    return chosen


def render_passage(p: Passage) -> str:
    """The passage as the model sees it, instruction-like sentences masked."""
    parts = []
    for s, e in sentence_spans(p.text):
        sentence = p.text[s:e]
        parts.append(MASK if is_instruction_like(sentence) else sentence)
    head = ", ".join(x for x in (p.title, p.source, p.date) if x)
    return (f"({head})\n" if head else "") + " ".join(parts)
