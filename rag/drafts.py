"""Parsing what the model wrote into a Draft: claims, each with a source number and a quote.

Tolerant on purpose: JSON (possibly cut off by the token limit), JSON under
other key names, or plain text with [n] markers from a server without JSON mode.
Nothing here is trusted; `rag.verify` checks every claim.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from index.sentences import split_sentences


@dataclass(frozen=True)
class Claim:
    text: str
    source: int | None  # 1-based passage number the model named
    quote: str = ""


@dataclass
class Draft:
    found: bool
    claims: list[Claim] = field(default_factory=list)
    raw: str = ""
    structured: bool = True


ANSWER_SCHEMA_KEYS = ("trouve", "elements")


def answer_schema(n_passages: int, max_claims: int = 3) -> dict[str, Any]:
    """JSON schema of the answer: the grammar that constrains the embedded model."""
    return {
        "type": "object",
        "properties": {
            "trouve": {"type": "boolean"},
            "elements": {
                "type": "array",
                "maxItems": max_claims,
                "items": {
                    "type": "object",
                    "properties": {
                        "source": {"type": "integer", "enum": list(range(1, n_passages + 1))},
                        "extrait": {"type": "string"},
                        "reponse": {"type": "string"},
                    },
                    "required": ["source", "extrait", "reponse"],
                },
            },
        },
        "required": ["trouve", "elements"],
    }


def _close_json(text: str) -> str:
    """Close strings and brackets of a JSON text cut off mid-way."""
    stack: list[str] = []
    in_str = esc = False
    for ch in text:
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
        elif ch in "{[":
            stack.append("}" if ch == "{" else "]")
        elif ch in "}]" and stack:
            stack.pop()
    out = text + ('"' if in_str else "")
    out = re.sub(r",\s*$", "", out)
    return out + "".join(reversed(stack))


def load_json_lenient(raw: str) -> Any:
    """The first JSON object in raw, closing what a cut-off generation left open; None if there is none."""
    start = raw.find("{")
    if start < 0:
        return None
    body = raw[start:]
    candidates = [body, _close_json(body)]
    # Cut off mid-item: back up to the end of a complete object, then close the rest.
    ends = [i for i, ch in enumerate(body) if ch == "}"]
    candidates += [_close_json(body[: i + 1]) for i in reversed(ends[-8:])]
    for candidate in candidates:
        try:
            return json.loads(candidate)
        except json.JSONDecodeError:
            continue
    return None


def _pick(d: dict[str, Any], *keys: str) -> Any:
    for k in keys:
        if k in d:
            return d[k]
    return None


_MARKER = re.compile(r"\[(\d{1,2})\]")


def _from_text(raw: str) -> Draft:
    claims = []
    for sentence in split_sentences(raw):
        nums = [int(n) for n in _MARKER.findall(sentence)]
        text = _MARKER.sub("", sentence).strip()
        if text:
            claims.append(Claim(text=text, source=nums[0] if nums else None))
    return Draft(found=bool(claims), claims=claims, raw=raw, structured=False)


def parse_draft(raw: str) -> Draft:
    data = load_json_lenient(raw)
    if not isinstance(data, dict):
        return _from_text(raw) if raw.strip() else Draft(found=False, raw=raw)
    items = _pick(data, "elements", "claims", "affirmations", "answers", "reponses")
    claims = []
    if isinstance(items, list):
        for it in items:
            if not isinstance(it, dict):
                continue
            text = _pick(it, "reponse", "réponse", "answer", "text", "texte")
            quote = _pick(it, "extrait", "quote", "citation", "evidence")
            source = _pick(it, "source", "n", "passage", "id")
            if not isinstance(text, str) or not text.strip():
                continue
            try:
                num = int(source) if source is not None else None
            except (TypeError, ValueError):
                m = _MARKER.search(str(source))
                num = int(m.group(1)) if m else None
            claims.append(Claim(_MARKER.sub("", text).strip(), num, quote if isinstance(quote, str) else ""))
    found = _pick(data, "trouve", "found", "answerable")
    return Draft(found=bool(found) if found is not None else bool(claims), claims=claims, raw=raw)


_PARTIAL_TEXT = re.compile(r'"(?:reponse|réponse|answer)"\s*:\s*"((?:[^"\\]|\\.)*)')


def partial_answer_text(raw: str) -> str:
    """The answer sentences readable so far in a JSON stream (for live display)."""
    parts = []
    for m in _PARTIAL_TEXT.finditer(raw):
        try:
            parts.append(json.loads(f'"{m.group(1)}"'))
        except json.JSONDecodeError:
            parts.append(m.group(1).rstrip("\\"))
    return " ".join(p.strip() for p in parts if p.strip())
