"""Helpers shared by the tests: settings, sample data and store inspection."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import yaml
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatGenerationChunk
from pydantic import Field

from index.models import Article, Rejection, article_of_chunk
from index.readers import ReadOptions, read_inputs
from index.store import Store
from veille.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DIR = ROOT / "examples" / "articles"
VEILLE = Path(sys.executable).parent / "veille"  # the installed command line
SAMPLE_SOURCES = ("exemple-relais-axios", "exemple-relais-politico")
DMITRIEV_QUERY = "qui dirige la délégation russe ?"

# Short French articles: cheap to embed, distinct topics, dates and sources.
SHORT_ARTICLES: dict[str, dict[str, str]] = {
    "vendanges-2023": {
        "title": "Vendanges précoces en Bourgogne",
        "source": "journal-du-vin",
        "date": "2023-09-15",
        "text": (
            "Les vendanges ont commencé avec deux semaines d'avance en Bourgogne. "
            "Les vignerons de la Côte de Beaune craignent une récolte réduite après la canicule d'août."
        ),
    },
    "tgv-2024": {
        "title": "Une nouvelle ligne à grande vitesse entre Bordeaux et Toulouse",
        "source": "rail-info",
        "date": "2024-05-02",
        "text": (
            "Le chantier de la ligne à grande vitesse entre Bordeaux et Toulouse a été lancé. "
            "Les trains rouleront à 320 km/h et relieront les deux métropoles en une heure de moins."
        ),
    },
    "glaciers-2025": {
        "title": "Les glaciers des Alpes reculent encore",
        "source": "montagne-hebdo",
        "date": "2025-03-20",
        "text": (
            "Le glacier d'Argentière a perdu près de trois mètres d'épaisseur l'an dernier. "
            "Les glaciologues alertent sur la fonte accélérée des glaciers alpins depuis vingt ans."
        ),
    },
}

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def make_settings(data_dir: Path, **overrides: Any) -> Settings:
    """Settings built explicitly: no .env file, the given data dir, the given overrides."""
    return Settings(_env_file=None, data_dir=data_dir, **overrides)  # type: ignore[call-arg]


def write_txt(path: Path, text: str, **meta: str) -> Path:
    """A .txt article, with YAML front matter when metadata is given."""
    path.parent.mkdir(parents=True, exist_ok=True)
    head = "---\n" + yaml.safe_dump(meta, allow_unicode=True, sort_keys=False) + "---\n" if meta else ""
    path.write_text(head + text + "\n", encoding="utf-8")
    return path


def write_short_articles(folder: Path, ids: tuple[str, ...] | None = None) -> dict[str, Path]:
    out = {}
    for aid in ids or tuple(SHORT_ARTICLES):
        a = SHORT_ARTICLES[aid]
        out[aid] = write_txt(
            folder / f"{aid}.txt", a["text"], id=aid, title=a["title"], source=a["source"], date=a["date"]
        )
    return out


def read_all(paths: list[Path] | list[str], opts: ReadOptions | None = None) -> tuple[list[Article], list[Rejection]]:
    articles: list[Article] = []
    rejections: list[Rejection] = []
    for item in read_inputs(paths, opts or ReadOptions()):
        (rejections if isinstance(item, Rejection) else articles).append(item)  # type: ignore[arg-type]
    return articles, rejections


def sample_articles() -> list[Article]:
    articles, rejections = read_all([SAMPLE_DIR])
    assert not rejections, rejections
    assert len(articles) == 2
    return articles


def chroma_ids(store: Store, article_id: str | None = None) -> set[str]:
    ids = set(store.vectors.all_ids())
    return ids if article_id is None else {i for i in ids if article_of_chunk(i) == article_id}


def catalog_ids(store: Store, article_id: str | None = None) -> set[str]:
    ids = set(store.catalog.chunk_ids())
    return ids if article_id is None else {i for i in ids if article_of_chunk(i) == article_id}


def plain(text: str) -> str:
    """Terminal output without colours and with every run of whitespace as one space."""
    return " ".join(_ANSI.sub("", text).split())


def free_port() -> int:
    """A loopback port nothing listens on right now (for real servers, or for "server down")."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def sample_records() -> list[Any]:
    """The sample articles as catalog records, without a store (for code that only reads them)."""
    from index.catalog import ArticleRecord

    out = []
    for a in sample_articles():
        out.append(ArticleRecord(a.id, "", "complete", a.title, a.source, a.url, a.date, a.lang, a.text, 0))
    return sorted(out, key=lambda r: r.source)


def record(aid: str, text: str, source: str = "src", title: str = "", day: str = "2024-01-01") -> Any:
    from index.catalog import ArticleRecord

    return ArticleRecord(aid, "", "complete", title, source, "", day, "fr", text, 0)


@contextmanager
def running_server(
    cmd: list[str], ready_url: str, log: Path, env: dict[str, str] | None = None, timeout_s: float = 120.0
) -> Iterator[subprocess.Popen[bytes]]:
    """Start a real server process, wait until `ready_url` answers 200, always stop it."""
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{cmd[0]} exited with {proc.returncode}: {log.read_text(errors='replace')[-2000:]}")
            try:
                if httpx.get(ready_url, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{' '.join(cmd[:3])} not up after {timeout_s:.0f} s: {log.read_text()[-2000:]}")
            time.sleep(0.2)
        yield proc
    finally:
        stop(proc)


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=20)


@contextmanager
def other_process_holding(folder: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process that holds `folder`'s lock until the block ends."""
    code = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from index.folder_lock import acquire
        acquire(Path({str(folder)!r}))
        print("held", flush=True)
        sys.stdin.read()  # until killed
    """)
    proc = subprocess.Popen(
        [sys.executable, "-c", code], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
        yield proc
    finally:
        proc.kill()
        proc.wait()


class RecordingModel(FakeListChatModel):
    """A scripted chat model that keeps what it was sent (unit tests of prompts and control flow)."""

    sent: list[list[BaseMessage]] = Field(default_factory=list)

    def _stream(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        self.sent.append(messages)
        yield from super()._stream(messages, *args, **kwargs)
