"""Where outlets describe the same person differently, show both versions.

A briefing that merges outlets must not pick one version of a detail silently.
For each person named (first and last name) in two articles of a story, the
descriptor each article attaches to the name is compared: the apposition after
it ("Jared Kushner, gendre de l'ancien président américain") or the title
before it ("le conseiller à la sécurité nationale Rustem Umerov"). Descriptors
whose content words differ are reported with both sources; deciding which one
is right is the reader's job.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from index.catalog import ArticleRecord
from rag.details import GENERIC_CAPITALISED
from veille.text.french import analyze, fold

_CAP = r"[A-ZÀ-ÖØ-Þ][\w\-’']+"
_NAME_RUN = re.compile(rf"{_CAP}(?:\s+{_CAP})+")
_AFTER = re.compile(
    r"^\s*,\s*((?:l['’]|le |la |les |un |une )?[a-zà-ÿ][^,.;:!?()]{3,90}?)(?=[,.;:!?()]|\s+(?:et|qui)\s)"
)
# Where a title before a name starts: after one of these words, or at the start of the clause.
# "et" joins two people ("Witkoff et Kushner") but also sits inside titles ("... nationale et de défense").
_BOUNDARY = re.compile(
    r"(?:^|[,;:(]|\b(?:par|avec|selon|pour|que|dont|comme|entre|by|with|and)\b|\bet\b(?!\s+(?:de|du|des|d['’])\s))\s*",
    re.I,
)
_DETERMINER = re.compile(r"^(?:l['’]|le |la |les |un |une |the |a )", re.I)
_WINDOW = 120


@dataclass(frozen=True)
class Mention:
    name: str
    descriptor: str
    article: ArticleRecord
    start: int  # span of "descriptor + name" (or "name, descriptor") in article.text
    end: int

    @property
    def text(self) -> str:
        return self.article.text[self.start : self.end]


@dataclass(frozen=True)
class Disagreement:
    subject: str
    versions: tuple[Mention, ...]


def _before(text: str, name_start: int) -> tuple[str, int] | None:
    window = text[max(0, name_start - _WINDOW) : name_start]
    base = name_start - len(window)
    cut = 0
    for m in _BOUNDARY.finditer(window):
        cut = m.end()
    desc = window[cut:]
    # Keep only a lowercase-led title ("le secrétaire du Conseil ... ") ending right before the name.
    if not desc.strip() or not re.match(r"^(?:l['’]|le |la |les |un |une |the |a )?[a-zà-ÿ]", desc):
        return None
    stripped = _DETERMINER.sub("", desc.strip())
    if len(stripped.split()) < 1 or len(stripped.split()) > 12:
        return None
    return stripped.strip(), base + cut


def mentions(article: ArticleRecord) -> list[Mention]:
    text = article.text
    out = []
    for m in _NAME_RUN.finditer(text):
        words = m.group().split()
        while words and fold(words[0]) in GENERIC_CAPITALISED:
            words = words[1:]  # "Selon Politico", "Les États-Unis": capitalised by the sentence, not a person
        if len(words) < 2:
            continue
        # A run like "Donald Trump Steve Witkoff": the person is the last two words, the rest is title.
        name = " ".join(words[-2:])
        name_start = m.end() - len(name)
        after = _AFTER.match(text[m.end() : m.end() + 140])
        if after:
            desc = _DETERMINER.sub("", after.group(1).strip())
            out.append(Mention(name, desc, article, name_start, m.end() + after.end(1)))
            continue
        before = _before(text, name_start)
        if before is not None:
            desc, start = before
            out.append(Mention(name, desc, article, start, m.end()))
    return out


def _content(desc: str) -> frozenset[str]:
    return frozenset(analyze(desc))


def find_disagreements(articles: Sequence[ArticleRecord]) -> list[Disagreement]:
    """Names described differently by two articles of one story, one version per article."""
    by_name: dict[str, dict[str, Mention]] = {}
    for a in articles:
        for m in mentions(a):
            if not _content(m.descriptor):
                continue
            by_name.setdefault(fold(m.name), {}).setdefault(a.id, m)  # first description per article
    out = []
    for versions in by_name.values():
        if len(versions) < 2:
            continue
        vs = list(versions.values())
        if len({_content(v.descriptor) for v in vs}) > 1:
            out.append(Disagreement(vs[0].name, tuple(vs)))
    return out
