"""Parsing what the model wrote: ids and answer, cut-off JSON, other key names, plain text."""

from __future__ import annotations

from rag.answers.drafts import grounded_schema, load_json_lenient, parse_grounded, partial_answer_text


def test_json_answer_with_ids() -> None:
    d = parse_grounded('{"ids": [2, 5], "answer": "Kirill Dmitriev [2]."}')
    assert d.ids == [2, 5] and d.answer.startswith("Kirill Dmitriev") and "[2]" not in d.answer
    assert d.structured


def test_refusal_json() -> None:
    d = parse_grounded('{"ids": [], "answer": ""}')
    assert d.ids == [] and d.answer == ""


def test_other_keys_and_string_ids() -> None:
    d = parse_grounded('Voici : {"phrases": ["[3]", "4"], "reponse": "Miami"}')
    assert d.ids == [3, 4] and d.answer == "Miami"


def test_truncated_json_keeps_what_was_written() -> None:
    d = parse_grounded('{"ids": [1, 3], "answer": "Les négociations se tiennent à Mia')
    assert d.ids == [1, 3] and d.answer == "Les négociations se tiennent à Mia"
    assert load_json_lenient('{"a": [1, {"b": "c') == {"a": [1, {"b": "c"}]}


def test_plain_text_with_markers() -> None:
    d = parse_grounded("Kirill Dmitriev dirige la délégation [2]. Rustem Umerov conduit l'autre [1].")
    assert d.ids == [2, 1] and not d.structured
    assert "[" not in d.answer and d.answer.startswith("Kirill Dmitriev")


def test_partial_text_for_streaming() -> None:
    assert partial_answer_text('{"ids": [1], "answer": "Kirill Dmi') == "Kirill Dmi"
    assert partial_answer_text('{"ids": [1], "answer": "l\\u2019accord') == "l’accord"


def test_schema_limits_ids_to_shown_sentences_and_bounds_the_answer() -> None:
    schema = grounded_schema(3)
    assert schema["properties"]["ids"]["items"]["enum"] == [1, 2, 3]
    assert schema["properties"]["ids"]["maxItems"] == 3 and schema["properties"]["answer"]["maxLength"] == 300
