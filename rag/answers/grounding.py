"""The passages as numbered sentences: what the model reads, and what a citation points to.

The model never copies a quote: it names sentence ids, and each id is an exact span of an article
(offsets kept), so a citation can never be misquoted. Instruction-like sentences ("ignore les
instructions…") get no id: they are masked in the prompt and can never be cited. Section headings
state nothing a claim can rest on and are left out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rag.retrieval import Passage
from veille.text.injection import MASK, is_instruction_like
from veille.text.sentences import sentence_spans


@dataclass(frozen=True)
class Sentence:
    n: int  # the 1-based id the model sees
    passage: int  # 0-based index into the shown passages
    start: int  # offsets into that passage's text
    end: int
    text: str


def _is_heading(line: str) -> bool:
    words = line.split()
    return 0 < len(words) <= 12 and not re.search(r"[.!?…:;»\"”)]\s*$", line)


def _citable(shown: Sequence[Passage]) -> list[tuple[int, int, int]]:
    """(passage, start, end) of every sentence that may be shown, each article span once."""
    seen: set[tuple[str, int]] = set()
    out = []
    for pi, p in enumerate(shown):
        for s, e in sentence_spans(p.text):
            text = p.text[s:e]
            if is_instruction_like(text) or (_is_heading(text) and _alone_on_line(p.text, s, e)):
                continue
            key = (p.article_id, p.start + s)  # overlapping chunks of one article hold the same sentence
            if key in seen:
                continue
            seen.add(key)
            out.append((pi, s, e))
    return out


def number_sentences(shown: Sequence[Passage], question: str = "", budget: int | None = None) -> list[Sentence]:
    """The citable sentences of the shown passages, numbered across passages in reading order.

    With a question and a token budget, only the sentences that share a term or a name with the
    question are kept (best first, a better-ranked passage worth about one term more), each with
    the sentence before it (what "elle", "il", "selon la publication" refer to), until the budget
    is spent: prompt
    reading is most of an answer's time on a CPU, and a small model answers better from fewer
    distractors.
    """
    spans = _citable(shown)
    if budget is not None and question:
        spans = _select(shown, spans, question, budget)
    return [Sentence(i + 1, pi, s, e, shown[pi].text[s:e]) for i, (pi, s, e) in enumerate(spans)]


def select(passages: Sequence[Passage], question: str, budget: int) -> tuple[list[Passage], list[Sentence]]:
    """The passages that keep at least one selected sentence, and those sentences numbered over them."""
    sentences = number_sentences(passages, question, budget)
    used = sorted({x.passage for x in sentences})
    index = {pi: i for i, pi in enumerate(used)}
    shown = [passages[pi] for pi in used]
    return shown, [Sentence(x.n, index[x.passage], x.start, x.end, x.text) for x in sentences]


# What one step down the retriever's ranking costs a sentence, in question terms matched. Measured
# on 200 PIAF dev questions (gold answer among the shown sentences; no model involved): terms only,
# rank breaking ties: 148; the question's frame nouns left out: 150; a point for a digit when a
# number or a date is asked: 152; and this rank cost (1.1 to 1.6 alike): 155. Weighting terms by
# their rarity among the sentences did worse (144).
PASSAGE_RANK_COST = 1.1


def _select(
    shown: Sequence[Passage], spans: list[tuple[int, int, int]], question: str, budget: int
) -> list[tuple[int, int, int]]:
    from rag.details import about_terms, near
    from veille.text.french import analyze, fold
    from veille.text.tokens import count_tokens

    terms = about_terms(question) or set(analyze(question))
    names = {fold(w) for w in re.findall(r"(?<!^)\b[A-ZÀ-ÖØ-Þ][\w-]+", question.strip())}
    texts = [shown[pi].text[s:e] for pi, s, e in spans]
    wants_digits = _asks_number_or_date(question)
    scored = []
    for i, (pi, _, _) in enumerate(spans):
        have = set(analyze(texts[i]))
        score = sum(1.0 for t in terms if near(t, have)) + sum(1.0 for n in names if n in fold(texts[i]))
        if score and wants_digits and re.search(r"\d", texts[i]):
            score += 1.0
        if score:
            scored.append((score - PASSAGE_RANK_COST * pi, i))
    scored.sort(key=lambda x: (-x[0], x[1]))
    keep: set[int] = set()
    used = 0
    for _, i in scored:
        wanted = [j for j in (i - 1, i) if j >= 0 and spans[j][0] == spans[i][0] and j not in keep]
        cost = sum(count_tokens(texts[j]) for j in wanted)
        if keep and used + cost > budget:
            if i in keep or used + cost - (cost if len(wanted) < 2 else 0) > budget:
                continue
            # Over budget with its context: the sentence alone may still fit.
            wanted = [i]
            cost = count_tokens(texts[i])
            if used + cost > budget:
                continue
        keep.update(wanted)
        used += cost
    return [spans[i] for i in sorted(keep)]


def _asks_number_or_date(question: str) -> bool:
    from rag.answers.support import asked_kind

    return asked_kind(question) in ("number", "date")


def _alone_on_line(text: str, s: int, e: int) -> bool:
    before = text.rfind("\n", 0, s)
    after = text.find("\n", e)
    line = text[before + 1 : after if after >= 0 else len(text)]
    return line.strip() == text[s:e].strip()


def render_numbered(shown: Sequence[Passage], sentences: Sequence[Sentence], lang: str = "fr") -> str:
    """The prompt's sources: a head per article (title, outlet, date) once, then one `[n] sentence` a
    line; `…` where sentences were left out, the mask where an instruction-like sentence stood."""
    blocks: list[list[str]] = []
    heads: dict[str, int] = {}
    last: tuple[int, int] | None = None  # (passage, end) of the previous sentence shown
    for sent in sentences:
        p = shown[sent.passage]
        meta = ", ".join(x for x in (p.source, p.date) if x)
        if p.article_id not in heads:
            heads[p.article_id] = len(blocks)
            blocks.append([(f"{p.title}" if p.title else "Article") + (f" ({meta})" if meta else "")])
            last = None
        block = blocks[heads[p.article_id]]
        if last is not None and last[0] == sent.passage:
            between = p.text[last[1] : sent.start]
            if any(is_instruction_like(between[a:b]) for a, b in sentence_spans(between)):
                block.append(MASK)
            elif between.strip():
                block.append("…")
        elif len(block) > 1:
            block.append("…")
        block.append(f"[{sent.n}] {' '.join(sent.text.split())}")
        last = (sent.passage, sent.end)
    return "\n\n".join("\n".join(b) for b in blocks)


def neighbours(sentences: Sequence[Sentence], sent: Sentence) -> list[Sentence]:
    """The sentences just before and after `sent` in the same passage."""
    i = sent.n - 1
    return [sentences[j] for j in (i - 1, i + 1) if 0 <= j < len(sentences) and sentences[j].passage == sent.passage]
