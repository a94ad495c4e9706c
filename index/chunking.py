"""Sentence-aware, token-budgeted chunks that keep their exact source span."""

from __future__ import annotations

import re
from dataclasses import dataclass

from index.models import Article, Chunk
from veille.text.sentences import sentence_spans
from veille.text.tokens import count_tokens


@dataclass(frozen=True)
class ChunkingOptions:
    max_tokens: int = 200
    overlap_tokens: int = 40

    def __post_init__(self) -> None:
        if self.max_tokens < 8:
            raise ValueError("max_tokens must be at least 8")
        if not 0 <= self.overlap_tokens < self.max_tokens:
            raise ValueError("overlap_tokens must be >= 0 and smaller than max_tokens")


def _hard_cut(text: str, start: int, end: int, budget: int) -> list[tuple[int, int, int]]:
    """Cut one "word" longer than the budget (URLs, debris) into pieces that fit."""
    pieces: list[tuple[int, int, int]] = []
    s = start
    while s < end:
        e = end
        n = count_tokens(text[s:e])
        while n > budget and e - s > 1:
            e = s + max(1, (e - s) * budget // (n + 1))
            n = count_tokens(text[s:e])
        pieces.append((s, e, n))
        s = e
    return pieces


def _split_long(text: str, start: int, end: int, budget: int) -> list[tuple[int, int, int]]:
    """Cut one over-long sentence at word boundaries into pieces under budget.

    Pieces grow on per-word counts, then are checked on their exact text: a word's
    tokens depend on what precedes it ("sécurité" is 4 tokens, " sécurité" is 1),
    so the sum of per-word counts can miss the budget by a few tokens.
    """
    words = [(start + m.start(), start + m.end()) for m in re.finditer(r"\S+", text[start:end])]
    pieces: list[tuple[int, int, int]] = []
    i = 0
    while i < len(words):
        p_start = words[i][0]
        n = count_tokens(text[p_start : words[i][1]])
        if n > budget:  # a single "word" longer than the budget (URLs, debris): hard cut
            pieces.extend(_hard_cut(text, p_start, words[i][1], budget))
            i += 1
            continue
        j = i + 1
        estimate = n
        while j < len(words):
            w_tokens = count_tokens(" " + text[words[j][0] : words[j][1]])
            if estimate + w_tokens > budget:
                break
            estimate += w_tokens
            j += 1
        n = count_tokens(text[p_start : words[j - 1][1]])
        while n > budget and j - 1 > i:
            j -= 1
            n = count_tokens(text[p_start : words[j - 1][1]])
        pieces.append((p_start, words[j - 1][1], n))
        i = j
    return pieces


def chunk_article(article: Article, options: ChunkingOptions | None = None) -> list[Chunk]:
    opts = options or ChunkingOptions()
    text = article.text
    units: list[tuple[int, int, int]] = []  # (start, end, tokens) of sentences or sentence pieces
    for s, e in sentence_spans(text):
        n = count_tokens(text[s:e])
        if n > opts.max_tokens:
            units.extend(_split_long(text, s, e, opts.max_tokens))
        else:
            units.append((s, e, n))

    chunks: list[Chunk] = []
    i = 0
    while i < len(units):
        # Grow the chunk sentence by sentence, counting the exact text it would cover
        # (the whitespace between sentences has tokens too).
        j = i + 1
        while j < len(units) and count_tokens(text[units[i][0] : units[j][1]]) <= opts.max_tokens:
            j += 1
        start, end = units[i][0], units[j - 1][1]
        chunk_text = text[start:end]
        chunks.append(
            Chunk(
                article_id=article.id,
                index=len(chunks),
                text=chunk_text,
                start=start,
                end=end,
                n_tokens=count_tokens(chunk_text),
            )
        )
        if j >= len(units):
            break
        # Step back over whole sentences for the overlap, always moving forward.
        back = j
        while back - 1 > i and count_tokens(text[units[back - 1][0] : units[j - 1][1]]) <= opts.overlap_tokens:
            back -= 1
        i = back
    return chunks
