"""Parsing model output: JSON, truncated JSON, other key names, plain text with [n]."""

from __future__ import annotations

from rag.drafts import answer_schema, parse_draft, partial_answer_text


def test_json_answer() -> None:
    raw = '{"trouve": true, "elements": [{"source": 2, "extrait": "Kirill Dmitriev", "reponse": "Dmitriev [2]."}]}'
    d = parse_draft(raw)
    assert d.found and d.structured
    assert [(c.source, c.quote, c.text) for c in d.claims] == [(2, "Kirill Dmitriev", "Dmitriev .")]


def test_truncated_json_keeps_complete_claims() -> None:
    raw = '{"trouve": true, "elements": [{"source": 1, "extrait": "a b c", "reponse": "Oui."}, {"source": 2, "ext'
    d = parse_draft(raw)
    assert [c.text for c in d.claims] == ["Oui."]


def test_refusal_json() -> None:
    d = parse_draft('{"trouve": false, "elements": []}')
    assert not d.found and d.claims == []


def test_english_keys_and_string_source() -> None:
    d = parse_draft('Here: {"found": true, "claims": [{"source": "[3]", "quote": "q", "answer": "A."}]}')
    assert [(c.source, c.text) for c in d.claims] == [(3, "A.")]


def test_plain_text_with_markers() -> None:
    d = parse_draft("Kirill Dmitriev dirige la délégation [2]. Rustem Umerov conduit l'autre [1].")
    assert not d.structured
    assert [(c.source, c.text) for c in d.claims] == [
        (2, "Kirill Dmitriev dirige la délégation ."),
        (1, "Rustem Umerov conduit l'autre ."),
    ]


def test_partial_text_for_streaming() -> None:
    raw = '{"trouve": true, "elements": [{"source": 1, "extrait": "x", "reponse": "Kirill Dmi'
    assert partial_answer_text(raw) == "Kirill Dmi"


def test_schema_limits_sources_to_shown_passages() -> None:
    schema = answer_schema(3)
    assert schema["properties"]["elements"]["items"]["properties"]["source"]["enum"] == [1, 2, 3]
