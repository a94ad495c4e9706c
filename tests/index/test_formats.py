"""A new input format is one module that registers a reader, named in VEILLE_PLUGINS."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from index.models import Article, Rejection
from index.readers import FORMATS, read_path, supported
from rag.service import Veille
from tests.helpers import make_settings

PLUGIN = '''
"""Articles from a two-column file: title;text, one article a line."""
from index.readers import build_article, input_format


@input_format(".semicolon")
def read_semicolon(path, opts):
    for n, line in enumerate(path.read_text(encoding=opts.encoding).splitlines(), start=1):
        title, _, text = line.partition(";")
        yield build_article({"title": title, "text": text}, f"{path} [line {n}]", opts)
'''


@pytest.fixture
def plugin(tmp_path: Path) -> Iterator[str]:
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "veille_semicolon_format.py").write_text(textwrap.dedent(PLUGIN), encoding="utf-8")
    sys.path.insert(0, str(tmp_path / "plugins"))
    yield "veille_semicolon_format"
    sys.path.remove(str(tmp_path / "plugins"))
    sys.modules.pop("veille_semicolon_format", None)
    FORMATS.unregister(".semicolon")


def test_a_plugin_format_is_read_once_the_app_loads_it(tmp_path: Path, plugin: str) -> None:
    feed = tmp_path / "feed.semicolon"
    feed.write_text("Sommet de Genève;Les délégations se sont réunies à Genève pendant deux jours.\n", encoding="utf-8")
    opts = Veille(make_settings(tmp_path / "data")).read_options()
    # Before the plugin is loaded the suffix is refused with the list of what is supported.
    (refused,) = list(read_path(feed, opts))
    assert isinstance(refused, Rejection) and ".semicolon" not in supported() and ".jsonl" in refused.reason
    app = Veille(make_settings(tmp_path / "data", plugins=plugin))
    (article,) = list(read_path(feed, app.read_options()))
    assert isinstance(article, Article)
    assert article.title == "Sommet de Genève" and article.text.startswith("Les délégations")


def test_a_plugin_that_cannot_be_imported_is_named(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="VEILLE_PLUGINS: cannot import 'no_such_veille_plugin'"):
        Veille(make_settings(tmp_path / "data", plugins="no_such_veille_plugin"))
