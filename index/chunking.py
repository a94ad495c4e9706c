"""Sentence-aware, token-budgeted chunks that keep their exact source span."""

from __future__ import annotations

import re
from dataclasses import dataclass

from index.models import Article, Chunk
from index.sentences import sentence_spans
from index.tokens import count_tokens


@dataclass(frozen=True)
class ChunkingOptions:
    max_tokens: int = 200
    overlap_tokens: int = 40

    def __post_init__(self) -> None:
        if self.max_tokens < 8:
            raise ValueError("max_tokens must be at least 8")
        if not 0 <= self.overlap_tokens < self.max_tokens:
            raise ValueError("overlap_tokens must be >= 0 and smaller than max_tokens")


def _split_long(text: str, start: int, end: int, budget: int) -> list[tuple[int, int, int]]:
    """Cut one over-long sentence at word boundaries into pieces under budget."""
    pieces: list[tuple[int, int, int]] = []
    piece_start = start
    piece_end = start
    tokens = 0
    for m in re.finditer(r"\S+", text[start:end]):
        w_start, w_end = start + m.start(), start + m.end()
        w_tokens = count_tokens(" " + m.group())
        if tokens + w_tokens > budget and piece_end > piece_start:
            pieces.append((piece_start, piece_end, tokens))
            piece_start, tokens = w_start, 0
        if w_tokens > budget:  # a single "word" longer than the budget (URLs, debris): hard cut
            step = max(1, len(m.group()) * budget // (w_tokens + 1))
            for s in range(w_start, w_end, step):
                pieces.append((s, min(s + step, w_end), count_tokens(text[s : min(s + step, w_end)])))
            piece_start = piece_end = w_end
            tokens = 0
            continue
        piece_end = w_end
        tokens += w_tokens
    if piece_end > piece_start:
        pieces.append((piece_start, piece_end, tokens))
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
        j = i
        total = 0
        while j < len(units) and (j == i or total + units[j][2] <= opts.max_tokens):
            total += units[j][2]
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
        overlap = 0
        while back - 1 > i and overlap + units[back - 1][2] <= opts.overlap_tokens:
            back -= 1
            overlap += units[back][2]
        i = back
    return chunks
