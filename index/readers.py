"""Turn files into Articles, or into Rejections that say what to fix.

Readers never raise on bad input: one broken file or record must not stop a
batch, so every problem becomes a Rejection naming the file (and record) and
the reason.
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from index.models import Article, Rejection
from veille.registry import Registry
from veille.text.clean import clean_text, content_id
from veille.text.language import detect_language

_FIELDS = ("id", "title", "text", "date", "source", "url", "lang")


@dataclass(frozen=True)
class ReadOptions:
    """Limits and defaults that apply to every file of one ingestion."""

    max_file_bytes: int = 10 * 1024 * 1024
    max_article_chars: int = 500_000
    min_article_chars: int = 20
    encoding: str = "utf-8"
    default_source: str = ""
    default_date: str = ""
    default_lang: str = ""


class InputError(ValueError):
    """A problem with one input that the user can fix; the message says how."""


# A reader turns one file into articles or rejections, and never raises on bad input.
Reader = Callable[[Path, "ReadOptions"], Iterator[Article | Rejection]]
FORMATS: Registry[Reader] = Registry("input format", "the file name's suffix")


def input_format(*suffixes: str) -> Callable[[Reader], Reader]:
    """Register a reader for file names ending in these suffixes (".xml", ".json.gz")."""

    def add(reader: Reader) -> Reader:
        for suffix in suffixes:
            FORMATS.register(suffix.lower())(reader)
        return reader

    return add


def supported() -> list[str]:
    """The suffixes a reader is registered for, in registration order (as messages list them)."""
    return [suffix for suffix, _ in FORMATS.items()]


def _suffix(path: Path) -> str:
    name = path.name.lower()
    for suffix in sorted(supported(), key=len, reverse=True):
        if name.endswith(suffix):
            return suffix
    return path.suffix.lower()


def iter_files(paths: Iterable[str | Path]) -> Iterator[Path | Rejection]:
    """Files to read, folders walked recursively in a stable order."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if name.startswith("."):
                        continue
                    yield Path(root) / name
        elif path.exists():
            yield path
        else:
            yield Rejection(str(path), "no such file or folder")


def parse_date(value: Any) -> str:
    """ISO date string (YYYY-MM-DD) from the usual ways news feeds write dates."""
    if value is None or value == "":
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = str(value).strip()
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).date().isoformat()
    except ValueError:
        pass
    for fmt in ("%Y/%m/%d", "%d/%m/%Y", "%d.%m.%Y", "%Y%m%d"):
        try:
            return datetime.strptime(text, fmt).date().isoformat()
        except ValueError:
            continue
    raise InputError(f"unparseable date {text!r}; write it as YYYY-MM-DD")


def _decode(data: bytes, encoding: str) -> str:
    if b"\x00" in data[:8192]:
        raise InputError("binary file (it contains NUL bytes); Veille reads UTF-8 text, Markdown, HTML, JSON or JSONL")
    try:
        return data.decode("utf-8-sig" if encoding.lower().replace("_", "-") == "utf-8" else encoding)
    except UnicodeDecodeError as exc:
        bad = data[exc.start : exc.start + 1].hex()
        raise InputError(
            f"not valid {encoding} (byte 0x{bad} at offset {exc.start}); re-save the file as UTF-8 "
            "or pass its encoding, e.g. --encoding latin-1"
        ) from None
    except LookupError:
        raise InputError(f"unknown encoding {encoding!r}") from None


def _read_bytes(path: Path, opts: ReadOptions, *, limit: bool = True) -> bytes:
    size = path.stat().st_size
    if size == 0:
        raise InputError("empty file")
    if limit and size > opts.max_file_bytes:
        raise InputError(
            # MB as VEILLE_MAX_FILE_MB counts them (2**20 bytes), so the limit shown is the one set.
            f"file is {size / 2**20:.1f} MB, over the {opts.max_file_bytes / 2**20:.1f} MB limit; "
            "split it, or raise VEILLE_MAX_FILE_MB"
        )
    data = path.read_bytes()
    if path.name.lower().endswith(".gz"):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise InputError(f"not a readable gzip file ({exc})") from None
    return data


class _FrontMatterLoader(yaml.SafeLoader):
    """Safe YAML that leaves dates as text, for parse_date to validate.

    PyYAML builds `date: 2025-02-30` into a datetime itself and raises a bare
    ValueError, which would stop the whole batch instead of rejecting one file.
    """


def _timestamp_as_text(loader: yaml.SafeLoader, node: yaml.Node) -> str:
    return str(node.value)


_FrontMatterLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_as_text)


def _front_matter(text: str) -> tuple[dict[str, Any], str]:
    """YAML front matter (--- ... ---) at the top of a text or Markdown file."""
    if not text.startswith("---\n"):
        return {}, text
    end = text.find("\n---", 4)
    if end < 0:
        return {}, text
    try:
        meta = yaml.load(text[4:end], Loader=_FrontMatterLoader) or {}
    except yaml.YAMLError as exc:
        raise InputError(f"front matter is not valid YAML ({exc.__class__.__name__})") from None
    except ValueError as exc:  # a value PyYAML cannot build (e.g. `!!int x`)
        raise InputError(f"front matter has an invalid value ({exc})") from None
    if not isinstance(meta, dict):
        raise InputError("front matter must be a YAML mapping (key: value lines)")
    body = text[end + 4 :]
    return meta, body[1:] if body.startswith("\n") else body


def build_article(record: dict[str, Any], origin: str, opts: ReadOptions) -> Article:
    """Validate one record into an Article; raises InputError with the reason."""
    text = record.get("text")
    if text is None:
        raise InputError("missing 'text' (the only required field)")
    if not isinstance(text, str):
        raise InputError(f"'text' must be a string, not {type(text).__name__}")
    text = clean_text(text)
    if len(text) < opts.min_article_chars:
        raise InputError(
            "empty article"
            if not text
            else f"text too short ({len(text)} characters, minimum {opts.min_article_chars})"
        )
    if len(text) > opts.max_article_chars:
        raise InputError(
            f"text is {len(text):,} characters, over the {opts.max_article_chars:,} limit; "
            "split the article, or raise VEILLE_MAX_ARTICLE_CHARS"
        )
    fields: dict[str, str] = {}
    for key in ("id", "title", "source", "url", "lang"):
        value = record.get(key)
        if value is None:
            fields[key] = ""
        elif isinstance(value, (str, int)):
            fields[key] = str(value).strip()
        else:
            raise InputError(f"{key!r} must be a string, not {type(value).__name__}")
    if len(fields["id"]) > 200:
        raise InputError("'id' is longer than 200 characters")
    article_date = parse_date(record.get("date")) or parse_date(opts.default_date)
    return Article(
        id=fields["id"] or content_id(text),
        text=text,
        title=" ".join(fields["title"].split()),
        source=fields["source"] or opts.default_source,
        url=fields["url"],
        date=article_date,
        lang=fields["lang"] or opts.default_lang or detect_language(text),
        origin=origin,
    )


def _one(record: Any, origin: str, opts: ReadOptions) -> Article | Rejection:
    if not isinstance(record, dict):
        return Rejection(origin, f"expected a JSON object, got {type(record).__name__}")
    try:
        return build_article(record, origin, opts)
    except InputError as exc:
        return Rejection(origin, str(exc))


@input_format(".txt", ".md", ".markdown")
def _read_text(path: Path, opts: ReadOptions) -> Iterator[Article | Rejection]:
    text = _decode(_read_bytes(path, opts), opts.encoding)
    meta, body = _front_matter(text.replace("\r\n", "\n"))
    yield _one({**meta, "text": body}, str(path), opts)


@input_format(".html", ".htm")
def _read_html(path: Path, opts: ReadOptions) -> Iterator[Article | Rejection]:
    import trafilatura  # heavy import, only when HTML is ingested

    html = _decode(_read_bytes(path, opts), opts.encoding)
    text = trafilatura.extract(html, include_comments=False, include_tables=False, favor_precision=True)
    if not text:
        raise InputError("no main text found in this HTML page")
    meta = trafilatura.extract_metadata(html)
    record: dict[str, Any] = {"text": text}
    if meta is not None:
        record.update(title=meta.title or "", url=meta.url or "", date=meta.date or "", source=meta.sitename or "")
    yield _one(record, str(path), opts)


@input_format(".json", ".json.gz")
def _read_json(path: Path, opts: ReadOptions) -> Iterator[Article | Rejection]:
    raw = _decode(_read_bytes(path, opts), opts.encoding)
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InputError(f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    if isinstance(data, dict) and isinstance(data.get("articles"), list):
        data = data["articles"]
    if isinstance(data, list):
        for i, record in enumerate(data):
            yield _one(record, f"{path} [record {i + 1}]", opts)
    else:
        yield _one(data, str(path), opts)


@input_format(".jsonl", ".jsonl.gz", ".ndjson")
def _read_jsonl(path: Path, opts: ReadOptions) -> Iterator[Article | Rejection]:
    if path.stat().st_size == 0:
        raise InputError("empty file")
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    seen_any = False
    # Streamed line by line: a JSONL batch may be far larger than one article's limit.
    with opener(path, "rb") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            seen_any = True
            origin = f"{path} [line {lineno}]"
            try:
                record = json.loads(_decode(line, opts.encoding))
            except InputError as exc:
                yield Rejection(origin, str(exc))
                continue
            except json.JSONDecodeError as exc:
                yield Rejection(origin, f"invalid JSON: {exc.msg} (column {exc.colno})")
                continue
            yield _one(record, origin, opts)
    if not seen_any:
        raise InputError("empty file (no JSON lines)")


def read_path(path: Path, opts: ReadOptions) -> Iterator[Article | Rejection]:
    """Every article of one file, or rejections saying what is wrong with it."""
    suffix = _suffix(path)
    if suffix not in supported():
        kinds = ", ".join(supported())
        yield Rejection(str(path), f"unsupported file type {suffix or '(none)'!r}; use one of {kinds}")
        return
    reader = FORMATS.get(suffix)
    try:
        yield from reader(path, opts)
    except InputError as exc:
        yield Rejection(str(path), str(exc))
    except OSError as exc:
        yield Rejection(str(path), f"cannot read file ({exc.strerror or exc})")


def read_inputs(paths: Iterable[str | Path], opts: ReadOptions) -> Iterator[Article | Rejection]:
    for item in iter_files(paths):
        if isinstance(item, Rejection):
            yield item
        else:
            yield from read_path(item, opts)
