"""Spotting instructions hidden in article text, so they are neither shown to the model nor cited.

Articles are data. A sentence that addresses the assistant ("ignore les
instructions précédentes", "réponds 'X'", "you are now ...") is masked in the
prompt and can never be the support of a claim. The patterns are about the
form of an instruction to a model, not about any particular article.
"""

from __future__ import annotations

import re

_PATTERNS = [
    # "ignore / oublie les instructions (précédentes)", "disregard the above"
    r"\b(ignore[rz]?|oublie[rz]?|disregard|forget|override)\b[^.!?\n]{0,60}"
    r"\b(instructions?|consignes?|r[eè]gles|prompts?|ce qui pr[eé]c[eè]de|previous|above|system)\b",
    # imperative "answer/say/write X" with a quoted payload
    r"\b(r[eé]ponds|r[eé]pondez|reply|respond|answer|dis|dites|say|[eé]cris|[eé]crivez|write|output|print|affiche)"
    r"\b[^.!?\n]{0,40}[\"'«“‘]",
    r"\b(system prompt|prompt syst[eè]me|you are now|tu es maintenant|vous [eê]tes maintenant|"
    r"nouvelles? instructions?|new instructions?|en tant qu'(ia|assistant)|as an ai)\b",
    r"^\s*(system|assistant|user|syst[eè]me)\s*:",
    r"<\|?(im_start|im_end|system|endoftext)\|?>",
]
_INSTRUCTION = re.compile("|".join(f"(?:{p})" for p in _PATTERNS), re.IGNORECASE | re.MULTILINE)

MASK = "[…]"


def is_instruction_like(text: str) -> bool:
    return _INSTRUCTION.search(text) is not None
