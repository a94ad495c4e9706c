"""The application service: the rules the CLI, the API and the evals share, each written once."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import pytest

from api.app import create_app
from index.embedders import Embedder
from index.store import Store
from rag.service import Veille, digest_window
from tests.conftest import SampleStore
from tests.helpers import make_settings
from veille.keys import exposure_notice, new_key


def test_a_digest_window_is_a_day_or_since_until() -> None:
    d = date(2025, 12, 18)
    assert digest_window(d, None, None) == (d, d)
    assert digest_window(None, d, None) == (d, d)
    assert digest_window(None, d, date(2025, 12, 20)) == (d, date(2025, 12, 20))
    with pytest.raises(ValueError, match="give a date"):
        digest_window(None, None, date(2025, 12, 20))
    with pytest.raises(ValueError, match="before it starts"):
        digest_window(None, d, date(2025, 12, 1))


def test_without_keys_only_loopback_may_serve() -> None:
    _, entry = new_key("write")
    assert exposure_notice("0.0.0.0", entry) == ""
    assert "loopback only" in exposure_notice("127.0.0.1", "")
    with pytest.raises(ValueError, match=r"refusing to listen on 0\.0\.0\.0"):
        exposure_notice("0.0.0.0", "")
    with pytest.raises(ValueError, match="read:<sha256 hex>"):
        exposure_notice("127.0.0.1", "admin:123")


def test_an_app_built_for_a_public_address_without_keys_is_refused(tmp_path: Path) -> None:
    # The rule held only in `veille serve`; an app served by another ASGI server skipped it.
    with pytest.raises(ValueError, match="refusing to listen"):
        create_app(make_settings(tmp_path / "data", host="0.0.0.0"))


def test_read_options_follow_the_settings(tmp_path: Path) -> None:
    app = Veille(make_settings(tmp_path / "data", max_file_mb=2, max_article_chars=5000))
    opts = app.read_options(encoding="latin-1", source="AFP", lang="en")
    assert opts.max_file_bytes == 2 * 1024 * 1024
    assert opts.max_article_chars == 5000
    assert (opts.encoding, opts.default_source, opts.default_lang) == ("latin-1", "AFP", "en")


def test_search_is_what_an_answer_retrieves(sample_store: SampleStore) -> None:
    app = Veille(store=sample_store.store)
    q = "Qui dirige la délégation russe ?"
    found = app.search(q, k=4)
    assert found and [p.chunk_id for p in found] == [p.chunk_id for p in app.answerer.retriever.retrieve(q, k=4)]
    app.close()
    # A store the caller opened stays open: the session's sample store still answers.
    assert sample_store.store.stats()["articles_complete"] == 2


def test_closing_releases_the_data_folder(tmp_path: Path, embedder: Embedder) -> None:
    settings = make_settings(tmp_path / "data")
    with Veille(settings) as app:
        assert app.stats()["chunks"] == 0 and "llm" in app.stats()
        assert app.readiness().checks["store"] == "ok"
    # The embedded store takes one process per folder: reopening works only if it was released.
    Store(settings).close()


def test_a_borrowed_store_stays_open_and_a_later_one_is_owned(sample_store: SampleStore) -> None:
    app = Veille(store=sample_store.store)
    app.close()
    assert sample_store.store.stats()["articles_complete"] == 2  # the owner's store is not closed
    own = app.store  # used again: a store of its own, not the one it was lent
    assert own is not sample_store.store
    app.close()
    with pytest.raises(sqlite3.ProgrammingError):
        own.catalog.counts()  # closed with the service that opened it
    assert sample_store.store.stats()["articles_complete"] == 2
