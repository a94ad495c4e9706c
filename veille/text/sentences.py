"""French-aware sentence boundaries, as character spans of the original text.

A regex splitter rather than a library: we need exact spans, it must be fast
on millions of characters, and the French cases that matter (civil titles,
initials, abbreviations, line-separated headlines) are few and testable.
"""

from __future__ import annotations

import re

# Words after which a period does not end a sentence.
_ABBREVIATIONS = frozenset(
    """
    m mm mme mmes mlle mlles mgr me dr pr st ste sts vve av bd boul fg pl rte env cf etc ex no nos
    vol chap art al éd coll p pp ca janv févr fév avr juil sept oct nov déc jr sr mr mrs ms prof gen
    gén col cdt lt sgt gouv sen rep inc ltd co corp u.s a.-c j.-c
    """.split()
)

# Candidate ends: terminal punctuation (with closing quotes/brackets, which French
# typography spaces: "« Partons. » Il"), then space.
_END = re.compile(r"[.!?…]+(?:[\"'»”’)\]]|\s[»”])*(?=\s)")
_NEXT_START = re.compile(r"\s+[\"'«“(\[-]?\s*[A-ZÀ-ÖØ-Þ0-9]")
_WORD_BEFORE = re.compile(r"([\w.\-]+)$")


def _is_abbreviation(text: str, end: int) -> bool:
    """Is the period at text[end-1] part of an abbreviation or an initial?"""
    m = _WORD_BEFORE.search(text, 0, end - 1) if end >= 2 else None
    if m is None:
        return False
    word = m.group(1).lower().strip(".")
    if len(word) == 1 and word.isalpha():
        return True  # an initial: "J. Kushner"
    return word in _ABBREVIATIONS


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) spans covering every sentence, whitespace trimmed, in order."""
    spans: list[tuple[int, int]] = []
    for line_match in re.finditer(r"[^\n]+", text):
        line_start = line_match.start()
        line = line_match.group()
        start = 0
        for m in _END.finditer(line):
            end = m.end()
            if line[m.start()] == "." and m.end() - m.start() == 1 and _is_abbreviation(line, m.start() + 1):
                continue
            if not _NEXT_START.match(line, end):
                continue  # "14 et 15 décembre. à" is not a new sentence; lowercase follows
            spans.append((line_start + start, line_start + end))
            start = end
        spans.append((line_start + start, line_start + len(line)))
    trimmed: list[tuple[int, int]] = []
    for s, e in spans:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            trimmed.append((s, e))
    return trimmed


def split_sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in sentence_spans(text)]
