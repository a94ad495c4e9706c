"""English articles get an English analyzer: stems and stop words chosen by each article's language."""

from __future__ import annotations

from index.ingest import Ingestor
from index.models import article_of_chunk
from index.readers import ReadOptions, build_article
from index.store import Filters, Store
from veille.text.french import analyze


def test_english_words_meet_their_family_and_lose_their_stop_words() -> None:
    assert analyze("The negotiations were negotiated", lang="en") == analyze("negotiation negotiate", lang="en")
    assert "the" not in analyze("The talks", lang="en")
    # The French rules leave these apart: that is why an English article needs its own.
    assert set(analyze("negotiations")) != set(analyze("negotiated"))


def test_an_english_question_finds_an_english_article_by_its_stems(new_store: Store) -> None:
    opts = ReadOptions()
    english = build_article(
        {"id": "en-1", "title": "Talks in Miami", "lang": "en",
         "text": "Envoys negotiated for hours in Miami on Saturday without reaching a ceasefire deal."},
        "en-1", opts,
    )  # fmt: skip
    text = "Les vendanges ont commencé en Bourgogne avec deux semaines d'avance."
    french = build_article({"id": "fr-1", "title": "Vendanges", "text": text}, "fr-1", opts)
    Ingestor(new_store).ingest([english, french])
    hits = new_store.search_lexical("Where are the negotiations taking place?", 5, Filters())
    assert [article_of_chunk(h.chunk_id) for h in hits] == ["en-1"]
