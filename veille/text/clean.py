"""Text clean-up shared by readers and hashing: what we store is what we cite."""

from __future__ import annotations

import hashlib
import re
import unicodedata

# Inline player/tracker scripts that scrapers leave inside article bodies
# (e.g. `window.pvp_… = new Pvp('dmpublic', {...}, {...});`).
_SCRIPT_DEBRIS = re.compile(
    r"window\.[A-Za-z_$][\w$]*\s*=\s*new\s+[A-Za-z_$][\w$]*\s*\(.*?\}\s*\)\s*;?",
    re.DOTALL,
)
_SPACES = re.compile(r"[ \t\u00a0\u202f]+")
_BLANK_LINES = re.compile(r"\n{3,}")


def clean_text(text: str) -> str:
    """NFC, unix newlines, no scraping debris, no runs of blank lines."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\ufeff", "")
    text = _SCRIPT_DEBRIS.sub("", text)
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    text = _BLANK_LINES.sub("\n\n", text)
    return text.strip()


def content_id(text: str) -> str:
    """A stable id from the text alone: whitespace and case differences do not matter."""
    norm = _SPACES.sub(" ", unicodedata.normalize("NFC", text)).strip().casefold()
    norm = re.sub(r"\s+", " ", norm)
    return hashlib.sha256(norm.encode("utf-8")).hexdigest()[:20]
