"""Parsing what the model wrote: a grounded answer's sentence ids and text, lenient JSON for digests.

Tolerant on purpose: JSON (possibly cut off by the token limit), JSON under
other key names, or plain text with [n] markers from a server without JSON mode.
Nothing here is trusted; `rag.answers.support` checks every claim.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any


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


# -- sentence-grounded answers (rag.answers.grounding): {"ids": [...], "answer": "..."} ---------------------


@dataclass
class GroundedDraft:
    ids: list[int]
    answer: str
    raw: str = ""
    structured: bool = True


def grounded_schema(n_sentences: int, max_ids: int = 3, max_chars: int = 300) -> dict[str, Any]:
    """JSON schema of a grounded answer: ids first (the model picks its evidence, then words it),
    a bounded answer string (every generated token costs ~8 prompt tokens on a CPU)."""
    return {
        "type": "object",
        "properties": {
            "ids": {
                "type": "array",
                "items": {"type": "integer", "enum": list(range(1, max(n_sentences, 1) + 1))},
                "maxItems": max_ids,
            },
            "answer": {"type": "string", "maxLength": max_chars},
        },
        "required": ["ids", "answer"],
    }


def _ints(value: Any) -> list[int]:
    items = value if isinstance(value, list) else [value]
    out = []
    for it in items:
        if isinstance(it, bool):
            continue
        if isinstance(it, int):
            out.append(it)
        else:
            out += [int(n) for n in re.findall(r"\d{1,3}", str(it))]
    return out


def parse_grounded(raw: str) -> GroundedDraft:
    """The ids and answer the model wrote: JSON (possibly cut off), or plain text with [n] markers."""
    data = load_json_lenient(raw)
    if isinstance(data, dict):
        ids = _ints(_pick(data, "ids", "phrases", "sources", "sentences") or [])
        answer = _pick(data, "answer", "reponse", "réponse", "text")
        return GroundedDraft(ids, _MARKER.sub("", answer).strip() if isinstance(answer, str) else "", raw)
    text = raw.strip()
    ids = [int(n) for n in _MARKER.findall(text)]
    return GroundedDraft(ids, " ".join(_MARKER.sub("", text).split()), raw, structured=False)
