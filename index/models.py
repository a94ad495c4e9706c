"""The data that ingestion produces and the store keeps."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Article:
    id: str
    text: str
    title: str = ""
    source: str = ""
    url: str = ""
    date: str = ""  # ISO YYYY-MM-DD, or "" when unknown
    lang: str = "fr"
    origin: str = ""  # the file (and record) it came from, for messages

    @property
    def content_hash(self) -> str:
        """What decides 'unchanged': the text and every field users see."""
        h = hashlib.sha256()
        for part in (self.text, self.title, self.source, self.url, self.date, self.lang):
            h.update(part.encode("utf-8"))
            h.update(b"\x00")
        return h.hexdigest()

    @property
    def date_int(self) -> int:
        """YYYYMMDD as an int, for range filters (0 when unknown)."""
        return int(self.date.replace("-", "")) if self.date else 0


@dataclass(frozen=True)
class Chunk:
    article_id: str
    index: int
    text: str
    start: int  # character offsets into Article.text: text == article.text[start:end]
    end: int
    n_tokens: int

    @property
    def id(self) -> str:
        return f"{self.article_id}:{self.index}"


def article_of_chunk(chunk_id: str) -> str:
    """The article id inside a `Chunk.id` (article ids may themselves hold colons)."""
    return chunk_id.rsplit(":", 1)[0]


@dataclass(frozen=True)
class Rejection:
    origin: str
    reason: str

    def __str__(self) -> str:
        return f"{self.origin}: {self.reason}"


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    chunks_written: int = 0

    def summary(self) -> str:
        return (
            f"{len(self.added)} added, {len(self.unchanged)} unchanged, "
            f"{len(self.replaced)} replaced, {len(self.rejected)} rejected "
            f"({self.chunks_written} chunks written)"
        )
