"""Finding a quoted span in a passage, verbatim or near-verbatim, with exact original offsets.

Small models re-type quotes: curly vs straight apostrophes, dropped accents,
different dashes, extra spaces, an ellipsis. We compare on a normalised form
but always report offsets into the original text, so a citation shows the
source's own words.
"""

from __future__ import annotations

import difflib
import itertools
import re
import unicodedata
from dataclasses import dataclass

from index.sentences import sentence_spans

_MAP = {
    "’": "'", "‘": "'", "`": "'", "´": "'", "«": '"', "»": '"', "“": '"', "”": '"', "„": '"',
    "–": "-", "—": "-", "‑": "-", "‐": "-", "−": "-", "\u00a0": " ", "\u202f": " ", "…": "...",
}  # fmt: skip


@dataclass(frozen=True)
class Normalised:
    text: str
    index: list[int]  # index[i] = offset in the original of normalised char i


def normalise(text: str) -> Normalised:
    out: list[str] = []
    idx: list[int] = []
    last_space = True
    for i, ch in enumerate(text):
        mapped = _MAP.get(ch, ch)
        for c in unicodedata.normalize("NFKD", mapped.casefold()):
            if unicodedata.combining(c):
                continue
            if c.isspace():
                if last_space:
                    continue
                c = " "
                last_space = True
            else:
                last_space = False
            out.append(c)
            idx.append(i)
    while out and out[-1] == " ":
        out.pop()
        idx.pop()
    return Normalised("".join(out), idx)


def _strip_quote(q: str) -> str:
    return q.strip().strip("\"'«»“”").strip().rstrip(".").strip()


@dataclass(frozen=True)
class Span:
    start: int  # offsets into the searched text
    end: int
    exact: bool  # found verbatim (after normalisation) rather than by similarity


def find_span(quote: str, text: str, min_ratio: float = 0.82) -> Span | None:
    """Where `quote` stands in `text`: verbatim after normalisation, else the most similar sentence."""
    q = normalise(_strip_quote(quote)).text
    if len(q) < 4:
        return None
    hay = normalise(text)
    pos = hay.text.find(q)
    if pos >= 0:
        return Span(hay.index[pos], hay.index[pos + len(q) - 1] + 1, True)
    # An ellipsis in the quote: every piece must be there, in order.
    pieces = [p.strip() for p in re.split(r"\.\.\.|\[\.\.\.\]", q) if len(p.strip()) >= 12]
    if len(pieces) > 1:
        at, spans = 0, []
        for p in pieces:
            found = hay.text.find(p, at)
            if found < 0:
                break
            spans.append((found, found + len(p)))
            at = found + len(p)
        else:
            return Span(hay.index[spans[0][0]], hay.index[spans[-1][1] - 1] + 1, True)
    best: tuple[float, int, int] | None = None
    sents = sentence_spans(text)
    # Windows of one or two sentences: quotes often straddle a boundary.
    windows = [(s, e) for s, e in sents] + [(a[0], b[1]) for a, b in itertools.pairwise(sents)]
    for s, e in windows:
        cand = normalise(text[s:e]).text
        if not cand:
            continue
        m = difflib.SequenceMatcher(None, q, cand, autojunk=False)
        if m.real_quick_ratio() < min_ratio * 0.8:
            continue
        matched = sum(b.size for b in m.get_matching_blocks())
        # How much of the quote the sentence covers, and how much of the sentence is the quote.
        cover = matched / len(q)
        ratio = 2 * matched / (len(q) + len(cand))
        score = min(cover, max(ratio, cover if len(cand) <= 1.6 * len(q) else ratio))
        if score >= min_ratio and (best is None or score > best[0]):
            best = (score, s, e)
    if best is None:
        return None
    return Span(best[1], best[2], False)


def sentence_at(text: str, start: int, end: int) -> tuple[int, int]:
    """The sentence(s) of `text` that contain [start, end)."""
    s0, e0 = start, end
    for s, e in sentence_spans(text):
        if s <= start < e:
            s0 = s
        if s < end <= e:
            e0 = e
    return s0, e0
