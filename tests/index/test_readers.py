"""Readers: files become Articles, or Rejections naming the file and the reason."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from index.readers import ReadOptions, parse_date
from tests.helpers import SAMPLE_DIR, read_all, sample_articles, write_txt
from veille.text.clean import content_id

GOOD_TEXT = "Kirill Dmitriev dirigera la délégation russe attendue à Miami ce week-end."


def _only_rejection(path: Path, opts: ReadOptions | None = None) -> str:
    articles, rejections = read_all([path], opts)
    assert not articles, f"{path.name} should have been rejected"
    assert len(rejections) == 1, rejections
    assert str(path) in rejections[0].origin, "the rejection must name the file"
    assert str(rejections[0]).startswith(rejections[0].origin)
    return rejections[0].reason


def test_sample_front_matter_is_parsed() -> None:
    by_source = {a.source: a for a in sample_articles()}
    axios = by_source["exemple-relais-axios"]
    assert axios.title == "Une délégation ukrainienne menée par Rustem Umerov attendue à Miami"
    assert axios.date == "2025-12-18"
    assert axios.lang == "fr"
    assert axios.text.startswith("Une délégation ukrainienne dirigée par")
    assert "---" not in axios.text[:10] and "title:" not in axios.text
    assert axios.id == content_id(axios.text), "an article without id gets a stable id from its text"
    assert axios.origin.endswith("000_456c6f170c822276.txt")
    assert by_source["exemple-relais-politico"].title.startswith("Des pourparlers russo-américains")


def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "vide.txt").write_bytes(b"")
    assert _only_rejection(tmp_path / "vide.txt") == "empty file"


def test_whitespace_only_file(tmp_path: Path) -> None:
    (tmp_path / "blanc.txt").write_text("  \n\n \t\n", encoding="utf-8")
    assert _only_rejection(tmp_path / "blanc.txt") == "empty article"


def test_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "image.txt"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4)
    reason = _only_rejection(path)
    assert "binary file" in reason and "NUL" in reason


def test_latin1_file_is_rejected_with_a_hint_then_read_with_the_encoding(tmp_path: Path) -> None:
    path = tmp_path / "latin1.txt"
    text = "La délégation américaine a été reçue à Genève pour des négociations."
    path.write_bytes(text.encode("latin-1"))
    reason = _only_rejection(path)
    assert "not valid utf-8" in reason
    assert "UTF-8" in reason and "--encoding" in reason
    assert "0xe9" in reason, "the reason shows the offending byte"

    articles, rejections = read_all([path], ReadOptions(encoding="latin-1"))
    assert not rejections
    assert [a.text for a in articles] == [text]


def test_unknown_encoding(tmp_path: Path) -> None:
    path = write_txt(tmp_path / "a.txt", GOOD_TEXT)
    assert "unknown encoding 'klingon'" in _only_rejection(path, ReadOptions(encoding="klingon"))


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.txt"
    path.write_bytes("\ufeff---\ntitle: Avec BOM\n---\n".encode() + GOOD_TEXT.encode())
    [article], _ = read_all([path])
    assert article.title == "Avec BOM"
    assert article.text == GOOD_TEXT


def test_json_record_without_text(tmp_path: Path) -> None:
    path = tmp_path / "sans-texte.json"
    path.write_text(json.dumps({"id": "a1", "title": "Un titre sans corps"}), encoding="utf-8")
    assert "missing 'text'" in _only_rejection(path)


def test_json_text_of_the_wrong_type(tmp_path: Path) -> None:
    path = tmp_path / "mauvais-type.json"
    path.write_text(json.dumps({"text": ["pas", "une", "chaîne"]}), encoding="utf-8")
    assert "'text' must be a string, not list" in _only_rejection(path)


def test_json_unparseable_date(tmp_path: Path) -> None:
    path = tmp_path / "date.json"
    path.write_text(json.dumps({"text": GOOD_TEXT, "date": "le 18 décembre"}), encoding="utf-8")
    reason = _only_rejection(path)
    assert "unparseable date 'le 18 décembre'" in reason and "YYYY-MM-DD" in reason


@pytest.mark.parametrize("bad_date", ["2025-02-30", "2025-13-45", "hier"])
def test_front_matter_unparseable_date(tmp_path: Path, bad_date: str) -> None:
    # 2025-02-30 looks like a YAML timestamp: it must be a rejection, not a crash of the batch.
    path = tmp_path / "date.txt"
    path.write_text(f"---\ntitle: Date impossible\ndate: {bad_date}\n---\n{GOOD_TEXT}\n", encoding="utf-8")
    reason = _only_rejection(path)
    assert f"unparseable date {bad_date!r}" in reason


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-12-18", "2025-12-18"),
        ("2025-12-18T10:30:00Z", "2025-12-18"),
        ("2025-12-18 23:59:00+02:00", "2025-12-18"),
        ("2025/12/18", "2025-12-18"),
        ("18/12/2025", "2025-12-18"),
        ("18.12.2025", "2025-12-18"),
        ("20251218", "2025-12-18"),
        ("", ""),
        (None, ""),
    ],
)
def test_parse_date_formats(value: str | None, expected: str) -> None:
    assert parse_date(value) == expected


def test_front_matter_datetime_is_reduced_to_its_date(tmp_path: Path) -> None:
    path = tmp_path / "dt.txt"
    path.write_text(f"---\ndate: 2025-12-18 10:30:00\n---\n{GOOD_TEXT}\n", encoding="utf-8")
    [article], _ = read_all([path])
    assert article.date == "2025-12-18"


def test_invalid_front_matter(tmp_path: Path) -> None:
    path = tmp_path / "yaml.txt"
    path.write_text(f"---\ntitle: [non fermé\n---\n{GOOD_TEXT}\n", encoding="utf-8")
    assert "front matter is not valid YAML" in _only_rejection(path)
    path.write_text(f"---\n- une\n- liste\n---\n{GOOD_TEXT}\n", encoding="utf-8")
    assert "front matter must be a YAML mapping" in _only_rejection(path)


def test_file_over_the_size_limit(big_txt: Path) -> None:
    reason = _only_rejection(big_txt)
    assert "over the 10.0 MB limit" in reason
    assert "VEILLE_MAX_FILE_MB" in reason
    assert reason.startswith("file is 50.")


def test_size_limit_is_configurable(tmp_path: Path) -> None:
    path = write_txt(tmp_path / "a.txt", GOOD_TEXT * 40)
    assert "over the 0.0 MB limit" in _only_rejection(path, ReadOptions(max_file_bytes=100))
    assert read_all([path], ReadOptions(max_file_bytes=10_000))[0]


def test_article_over_the_character_limit(tmp_path: Path) -> None:
    path = write_txt(tmp_path / "long.txt", GOOD_TEXT * 10)
    reason = _only_rejection(path, ReadOptions(max_article_chars=200))
    assert "over the 200 limit" in reason and "VEILLE_MAX_ARTICLE_CHARS" in reason


def test_text_too_short(tmp_path: Path) -> None:
    path = write_txt(tmp_path / "court.txt", "Trop court.")
    assert "text too short (11 characters, minimum 20)" in _only_rejection(path)


def test_malformed_jsonl_line_does_not_stop_the_other_lines(tmp_path: Path) -> None:
    path = tmp_path / "lot.jsonl"
    lines = [
        json.dumps({"id": "l1", "text": GOOD_TEXT}),
        '{"id": "l2", "text": "coupé',
        "",
        json.dumps({"id": "l4", "text": GOOD_TEXT + " Suite."}),
        json.dumps(["pas", "un", "objet"]),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    articles, rejections = read_all([path])
    assert [a.id for a in articles] == ["l1", "l4"]
    assert [r.origin for r in rejections] == [f"{path} [line 2]", f"{path} [line 5]"]
    assert rejections[0].reason.startswith("invalid JSON")
    assert rejections[1].reason == "expected a JSON object, got list"


def test_jsonl_gz_and_empty_jsonl(tmp_path: Path) -> None:
    gz = tmp_path / "lot.jsonl.gz"
    gz.write_bytes(gzip.compress((json.dumps({"id": "z1", "text": GOOD_TEXT}) + "\n").encode()))
    articles, rejections = read_all([gz])
    assert [a.id for a in articles] == ["z1"] and not rejections
    empty = tmp_path / "vide.jsonl"
    empty.write_text("\n\n", encoding="utf-8")
    assert "empty file" in _only_rejection(empty)


def test_json_with_non_object_records(tmp_path: Path) -> None:
    path = tmp_path / "lot.json"
    path.write_text(json.dumps([{"id": "j1", "text": GOOD_TEXT}, "une chaîne", 42]), encoding="utf-8")
    articles, rejections = read_all([path])
    assert [a.id for a in articles] == ["j1"]
    assert [str(r) for r in rejections] == [
        f"{path} [record 2]: expected a JSON object, got str",
        f"{path} [record 3]: expected a JSON object, got int",
    ]


def test_json_articles_wrapper_and_invalid_json(tmp_path: Path) -> None:
    path = tmp_path / "flux.json"
    path.write_text(json.dumps({"articles": [{"id": "w1", "text": GOOD_TEXT, "source": "flux"}]}), encoding="utf-8")
    [article], _ = read_all([path])
    assert (article.id, article.source) == ("w1", "flux")
    path.write_text('{"articles": [', encoding="utf-8")
    assert _only_rejection(path).startswith("invalid JSON at line 1")


def test_scalar_json_document(tmp_path: Path) -> None:
    path = tmp_path / "scalaire.json"
    path.write_text('"juste une chaîne"', encoding="utf-8")
    assert _only_rejection(path) == "expected a JSON object, got str"


@pytest.mark.parametrize("name", ["rapport.pdf", "notes.docx", "SANS_EXTENSION"])
def test_unsupported_extension(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text(GOOD_TEXT, encoding="utf-8")
    reason = _only_rejection(path)
    assert reason.startswith("unsupported file type")
    assert ".txt" in reason and ".jsonl" in reason, "the reason lists what is supported"


def test_missing_path(tmp_path: Path) -> None:
    _, rejections = read_all([tmp_path / "absent.txt"])
    assert [str(r) for r in rejections] == [f"{tmp_path / 'absent.txt'}: no such file or folder"]


def test_fields_of_the_wrong_type(tmp_path: Path) -> None:
    path = tmp_path / "champs.json"
    path.write_text(json.dumps({"text": GOOD_TEXT, "title": {"fr": "titre"}}), encoding="utf-8")
    assert "'title' must be a string, not dict" in _only_rejection(path)


def test_defaults_apply_to_articles_that_name_none(tmp_path: Path) -> None:
    path = write_txt(tmp_path / "nu.txt", GOOD_TEXT)
    opts = ReadOptions(default_source="ma-source", default_date="18/12/2025", default_lang="fr")
    [article], _ = read_all([path], opts)
    assert (article.source, article.date, article.lang) == ("ma-source", "2025-12-18", "fr")
    named = write_txt(tmp_path / "nomme.txt", GOOD_TEXT, source="autre", date="2024-01-02")
    [article], _ = read_all([named], opts)
    assert (article.source, article.date) == ("autre", "2024-01-02")


def test_text_is_cleaned_and_ids_are_stable(tmp_path: Path) -> None:
    path = tmp_path / "sale.txt"
    path.write_bytes(b"Premier paragraphe  \r\n\r\n\r\n\r\nSecond paragraphe avec assez de texte.\r\n")
    [article], _ = read_all([path])
    assert article.text == "Premier paragraphe\n\nSecond paragraphe avec assez de texte."
    assert content_id("Premier  PARAGRAPHE\nsecond") == content_id("premier paragraphe second")


def test_folders_are_walked_in_order_skipping_hidden_files(tmp_path: Path) -> None:
    write_txt(tmp_path / "b" / "2.txt", GOOD_TEXT, id="b2")
    write_txt(tmp_path / "a.txt", GOOD_TEXT, id="a")
    write_txt(tmp_path / "b" / "1.txt", GOOD_TEXT, id="b1")
    write_txt(tmp_path / ".cache" / "x.txt", GOOD_TEXT, id="hidden-dir")
    write_txt(tmp_path / ".cache.txt", GOOD_TEXT, id="hidden-file")
    articles, rejections = read_all([tmp_path])
    assert [a.id for a in articles] == ["a", "b1", "b2"]
    assert not rejections


def test_a_bad_file_does_not_stop_the_batch(tmp_path: Path) -> None:
    (tmp_path / "0-vide.txt").write_bytes(b"")
    (tmp_path / "1-binaire.txt").write_bytes(b"\x00\x01")
    (tmp_path / "2-date.txt").write_text(f"---\ndate: 2025-02-30\n---\n{GOOD_TEXT}\n", encoding="utf-8")
    write_txt(tmp_path / "3-bon.txt", GOOD_TEXT, id="bon")
    articles, rejections = read_all([tmp_path, SAMPLE_DIR])
    assert next(a.id for a in articles) == "bon"
    assert len(articles) == 3
    assert [Path(r.origin).name for r in rejections] == ["0-vide.txt", "1-binaire.txt", "2-date.txt"]


HTML_PAGE = """<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>Miami : la délégation russe attendue</title>
<meta property="og:site_name" content="Exemple Info">
<meta property="article:published_time" content="2025-12-18T09:00:00+01:00">
</head><body>
<nav><a href="/">Accueil</a> | <a href="/monde">Rubrique Monde</a></nav>
<article><h1>Miami : la délégation russe attendue</h1>
<p>Selon Politico, une délégation russe dirigée par Kirill Dmitriev serait présente à Miami le même week-end
que la délégation ukrainienne.</p>
<p>Les contacts se dérouleront en parallèle, sans rencontre trilatérale prévue pour le moment.</p>
</article>
<footer>© Exemple Info — mentions légales</footer>
</body></html>
"""


def test_html_page_gives_its_main_text_and_metadata(tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    path.write_text(HTML_PAGE, encoding="utf-8")
    [article], rejections = read_all([path])
    assert not rejections
    assert article.title == "Miami : la délégation russe attendue"
    assert (article.source, article.date, article.lang) == ("Exemple Info", "2025-12-18", "fr")
    assert "dirigée par Kirill Dmitriev" in article.text
    assert "mentions légales" not in article.text and "Rubrique Monde" not in article.text


def test_html_page_without_main_text_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "menu.htm"
    path.write_text("<html><body><nav>menu</nav></body></html>", encoding="utf-8")
    reason = _only_rejection(path)
    assert "no main text" in reason or "text too short" in reason
