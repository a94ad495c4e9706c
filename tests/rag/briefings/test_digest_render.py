from __future__ import annotations

import json
from pathlib import Path

from rag.briefings.digest_models import ArticleRef, Bullet, Digest, Disagreement, SpanRef, StoryDigest, Version
from rag.briefings.digest_render import citation_numbers, render, to_html, to_markdown
from rag.briefings.digest_store import DigestStore


def _digest(until: str = "2024-01-02", title_b: str = "B <script>alert(1)</script>") -> Digest:
    a = ArticleRef("a", "Titre A", "outlet-1", until, "https://example.org/a")
    b = ArticleRef("b", title_b, "outlet-2", until, "")
    c = ArticleRef("c", "Titre C", "outlet-1", until, "")
    story = StoryDigest(
        id="s1",
        headline="Un sujet",
        bullets=[
            Bullet("Fait un.", [SpanRef("b", 0, 5, "Fait."), SpanRef("a", 3, 9, "un fait")]),
            Bullet("Phrase source.", [SpanRef("a", 10, 24, "Phrase source.")], extractive=True),
        ],
        articles=["a", "b"],
        sources=["outlet-1", "outlet-2"],
        disagreements=[
            Disagreement(
                "Jean Dupont", [Version("maire", SpanRef("a", 0, 4, "x")), Version("préfet", SpanRef("b", 0, 4, "y"))]
            )
        ],
        centroid=[1.0, 0.0],
    )
    return Digest(
        kind="digest",
        subject=until,
        lang="fr",
        since=until,
        until=until,
        sources_filter=[],
        stories=[story],
        others=["c"],
        articles={"a": a, "b": b, "c": c},
        n_articles=3,
        llm_calls=1,
        timings={},
        created_at="now",
    )


def test_citations_are_numbered_by_first_use_and_shared_across_formats() -> None:
    d = _digest()
    assert citation_numbers(d) == {"b": 1, "a": 2, "c": 3}
    md = to_markdown(d)
    assert "- Fait un. [1][2]" in md and "- « Phrase source. » [2]" in md
    assert "« maire » [2] ; « préfet » [1]" in md and "[3] Titre C" in md


def test_html_is_self_contained_and_escapes_article_text() -> None:
    page = to_html(_digest())
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert 'href="#src-1"' in page and "<link" not in page and 'src="' not in page
    assert 'title="Fait."' in page  # the quoted span shows on the marker


def test_json_round_trips_and_keeps_spans() -> None:
    d = _digest()
    data = json.loads(render(d, "json"))
    assert data["stories"][0]["bullets"][0]["citations"][0] == {
        "article_id": "b",
        "start": 0,
        "end": 5,
        "quote": "Fait.",
    }
    assert "centroid" not in data["stories"][0]
    assert Digest.from_dict(d.to_dict(with_centroids=True)) == d


def test_the_store_finds_the_previous_digest_of_the_same_sources(tmp_path: Path) -> None:
    store = DigestStore(tmp_path / "d.sqlite")
    for day in ("2024-01-01", "2024-01-02", "2024-01-05"):
        store.save(_digest(day))
    previous = store.previous("2024-01-05", [])
    assert previous is not None and previous.until == "2024-01-02"
    assert store.previous("2024-01-01", []) is None
    assert store.previous("2024-01-05", ["outlet-1"]) is None
    again = store.get(_digest("2024-01-02").key)
    assert again is not None and again.stories[0].centroid == [1.0, 0.0]
