"""A digest as Markdown, JSON or one self-contained HTML page.

Citations are numbered per digest, one number per article in order of first
citation, so "[1][2]" under a bullet reads the same in every format; the JSON
keeps the exact spans.
"""

from __future__ import annotations

import html
import json

from rag.briefings.digest_models import Digest, SpanRef

_LABELS = {
    "fr": {
        "digest": "Briefing du {subject}",
        "brief": "Briefing : {subject}",
        "summary": "Résumé : {subject}",
        "stats": "{n} article(s), {s} sujet(s) rédigé(s), {calls} appel(s) au modèle",
        "new": "nouveau",
        "followup": "suite",
        "versions": "Les sources divergent",
        "others": "Autres articles",
        "sources": "Sources",
        "quote": "extrait",
        "none": "Aucun sujet.",
    },
    "en": {
        "digest": "Briefing for {subject}",
        "brief": "Briefing: {subject}",
        "summary": "Summary: {subject}",
        "stats": "{n} article(s), {s} story(ies) written, {calls} model call(s)",
        "new": "new",
        "followup": "follow-up",
        "versions": "Sources differ",
        "others": "Other articles",
        "sources": "Sources",
        "quote": "quote",
        "none": "No story.",
    },
}


def _labels(d: Digest) -> dict[str, str]:
    return _LABELS.get(d.lang, _LABELS["fr"])


def _title(d: Digest) -> str:
    subject = d.articles[d.subject].title if d.kind == "summary" and d.subject in d.articles else d.subject
    return _labels(d)[d.kind].format(subject=subject)


def citation_numbers(d: Digest) -> dict[str, int]:
    numbers: dict[str, int] = {}

    def see(aid: str) -> None:
        numbers.setdefault(aid, len(numbers) + 1)

    for s in d.stories:
        for b in s.bullets:
            for c in b.citations:
                see(c.article_id)
        for dis in s.disagreements:
            for v in dis.versions:
                see(v.citation.article_id)
        for aid in s.articles:
            see(aid)
    for aid in d.others:
        see(aid)
    return numbers


def _marks(citations: list[SpanRef], numbers: dict[str, int]) -> str:
    seen: list[int] = []
    for c in citations:
        n = numbers[c.article_id]
        if n not in seen:
            seen.append(n)
    return "".join(f"[{n}]" for n in seen)


def to_json(d: Digest) -> str:
    data = d.to_dict()
    data["citation_numbers"] = citation_numbers(d)
    return json.dumps(data, ensure_ascii=False, indent=2)


def to_markdown(d: Digest) -> str:
    lab = _labels(d)
    nums = citation_numbers(d)
    lines = [f"# {_title(d)}", "", f"_{lab['stats'].format(n=d.n_articles, s=len(d.stories), calls=d.llm_calls)}_", ""]
    if not d.stories:
        lines += [lab["none"], ""]
    for i, s in enumerate(d.stories, start=1):
        tag = "" if d.kind == "summary" else f" _({lab['new'] if s.new else lab['followup']})_"
        lines += [f"## {i}. {s.headline}{tag}", ""]
        for b in s.bullets:
            text = f"« {b.text} »" if b.extractive else b.text
            lines.append(f"- {text} {_marks(b.citations, nums)}")
        for dis in s.disagreements:
            versions = " ; ".join(f"« {v.description} » {_marks([v.citation], nums)}" for v in dis.versions)
            lines.append(f"- **{lab['versions']}** — {dis.subject} : {versions}")
        lines.append("")
    if d.others:
        lines += [f"## {lab['others']}", ""]
        lines += [f"- {d.articles[a].title or a} [{nums[a]}]" for a in d.others]
        lines.append("")
    lines += [f"## {lab['sources']}", ""]
    for aid, n in sorted(nums.items(), key=lambda kv: kv[1]):
        a = d.articles[aid]
        where = ", ".join(x for x in (a.source, a.date) if x)
        link = f" — <{a.url}>" if a.url else ""
        lines.append(f"[{n}] {a.title or aid} ({where}){link}")
    return "\n".join(lines) + "\n"


_CSS = """
body{font:16px/1.5 system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#222}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:1.6rem}.tag{color:#666;font-weight:normal;font-size:.85rem}
sup a{text-decoration:none}.cite{cursor:help}.quote{font-style:italic}.differ{background:#fff6e0;padding:.2rem .4rem}
details{margin:.2rem 0 .6rem 1rem;color:#444;font-size:.9rem}ol.sources li{margin:.3rem 0}.meta{color:#666}
"""


def _cites_html(citations: list[SpanRef], nums: dict[str, int]) -> str:
    out, seen = [], set()
    for c in citations:
        n = nums[c.article_id]
        if n in seen:
            continue
        seen.add(n)
        out.append(f'<sup><a class="cite" href="#src-{n}" title="{html.escape(c.quote)}">[{n}]</a></sup>')
    return "".join(out)


def to_html(d: Digest) -> str:
    lab = _labels(d)
    nums = citation_numbers(d)
    e = html.escape
    parts = [
        f'<!doctype html><html lang="{e(d.lang)}"><head><meta charset="utf-8">',
        f"<title>{e(_title(d))}</title><style>{_CSS}</style></head><body>",
        f"<h1>{e(_title(d))}</h1>",
        f'<p class="meta">{e(lab["stats"].format(n=d.n_articles, s=len(d.stories), calls=d.llm_calls))}</p>',
    ]
    if not d.stories:
        parts.append(f"<p>{e(lab['none'])}</p>")
    for s in d.stories:
        tag = (
            "" if d.kind == "summary" else f' <span class="tag">({e(lab["new"] if s.new else lab["followup"])})</span>'
        )
        parts.append(f"<h2>{e(s.headline)}{tag}</h2><ul>")
        for b in s.bullets:
            cls = ' class="quote"' if b.extractive else ""
            quotes = "".join(f"<div>[{nums[c.article_id]}] « {e(c.quote)} »</div>" for c in b.citations)
            parts.append(
                f"<li><span{cls}>{e(b.text)}</span> {_cites_html(b.citations, nums)}"
                f"<details><summary>{e(lab['quote'])}</summary>{quotes}</details></li>"
            )
        for dis in s.disagreements:
            versions = " ; ".join(f"« {e(v.description)} » {_cites_html([v.citation], nums)}" for v in dis.versions)
            parts.append(
                f'<li class="differ"><strong>{e(lab["versions"])}</strong> — {e(dis.subject)} : {versions}</li>'
            )
        parts.append("</ul>")
    if d.others:
        parts.append(f"<h2>{e(lab['others'])}</h2><ul>")
        parts += [f'<li>{e(d.articles[a].title or a)} <a href="#src-{nums[a]}">[{nums[a]}]</a></li>' for a in d.others]
        parts.append("</ul>")
    parts.append(f'<h2>{e(lab["sources"])}</h2><ol class="sources">')
    for aid, n in sorted(nums.items(), key=lambda kv: kv[1]):
        a = d.articles[aid]
        title = e(a.title or aid)
        link = f'<a href="{e(a.url)}">{title}</a>' if a.url.startswith(("http://", "https://")) else title
        parts.append(f'<li id="src-{n}" value="{n}">{link} <span class="meta">{e(a.source)} {e(a.date)}</span></li>')
    parts.append("</ol></body></html>")
    return "\n".join(parts) + "\n"


def render(d: Digest, fmt: str) -> str:
    if fmt == "md":
        return to_markdown(d)
    if fmt == "json":
        return to_json(d)
    if fmt == "html":
        return to_html(d)
    raise ValueError(f"unknown format {fmt!r}: use md, json or html")
