"""Sentence-aware, token-budgeted chunks that keep their exact source span."""

from __future__ import annotations

import itertools

import pytest

from index.chunking import ChunkingOptions, chunk_article
from index.models import Article, Chunk
from tests.helpers import sample_articles
from veille.text.sentences import sentence_spans
from veille.text.tokens import count_tokens

BUDGETS = [(200, 40), (120, 30), (64, 16), (32, 0), (20, 10), (8, 0)]


def _short_sentences_article(n: int = 60) -> Article:
    text = " ".join(f"La phrase numéro {i} parle de Miami." for i in range(1, n + 1))
    return Article(id="courtes", text=text)


def _assert_well_formed(article: Article, chunks: list[Chunk]) -> None:
    assert chunks
    for i, c in enumerate(chunks):
        assert c.index == i
        assert c.article_id == article.id
        assert c.id == f"{article.id}:{i}"
        assert c.text == article.text[c.start : c.end]
        assert c.text == c.text.strip()
        assert c.n_tokens == count_tokens(c.text)
    starts = [c.start for c in chunks]
    assert starts == sorted(starts) and len(set(starts)) == len(starts), "chunks must move forward"


def _assert_covers_all_text(article: Article, chunks: list[Chunk]) -> None:
    covered = [False] * len(article.text)
    for c in chunks:
        covered[c.start : c.end] = [True] * (c.end - c.start)
    lost = [ch for ch, cov in zip(article.text, covered, strict=True) if not cov and not ch.isspace()]
    assert not lost, f"characters in no chunk: {''.join(lost)[:80]!r}"


@pytest.mark.parametrize(("max_tokens", "overlap"), BUDGETS)
def test_chunks_are_exact_spans_within_budget_covering_the_text(max_tokens: int, overlap: int) -> None:
    for article in sample_articles():
        chunks = chunk_article(article, ChunkingOptions(max_tokens, overlap))
        _assert_well_formed(article, chunks)
        _assert_covers_all_text(article, chunks)
        over = [(c.index, c.n_tokens) for c in chunks if c.n_tokens > max_tokens]
        assert not over, f"chunks over the {max_tokens}-token budget: {over}"


def test_chunks_start_and_end_on_sentence_boundaries() -> None:
    for article in sample_articles():
        spans = sentence_spans(article.text)
        starts, ends = {s for s, _ in spans}, {e for _, e in spans}
        for c in chunk_article(article, ChunkingOptions(120, 30)):
            assert c.start in starts and c.end in ends, c


def test_chunk_size_is_configurable() -> None:
    article = sample_articles()[0]
    counts = {size: len(chunk_article(article, ChunkingOptions(size, 0))) for size in (32, 64, 200, 2048)}
    assert counts[32] > counts[64] > counts[200] > counts[2048] == 1
    biggest = max(c.n_tokens for c in chunk_article(article, ChunkingOptions(200, 0)))
    assert 150 < biggest <= 200, "chunks should be filled close to the budget"


def test_default_options() -> None:
    article = sample_articles()[0]
    assert chunk_article(article) == chunk_article(article, ChunkingOptions(200, 40))


def test_overlap_repeats_whole_sentences_within_the_overlap_budget() -> None:
    article = _short_sentences_article()
    spans = sentence_spans(article.text)
    starts = [s for s, _ in spans]
    chunks = chunk_article(article, ChunkingOptions(64, 16))
    assert len(chunks) > 3
    for prev, nxt in itertools.pairwise(chunks):
        assert nxt.start < prev.end, "consecutive chunks must overlap"
        assert nxt.start in starts, "the overlap starts on a sentence"
        overlap_text = article.text[nxt.start : prev.end]
        assert count_tokens(overlap_text) <= 16
        # The overlap is as long as the budget allows: one more sentence would not fit.
        one_more = starts[starts.index(nxt.start) - 1]
        assert count_tokens(article.text[one_more : prev.end]) > 16


def test_no_overlap_when_overlap_is_zero() -> None:
    article = _short_sentences_article()
    chunks = chunk_article(article, ChunkingOptions(64, 0))
    for prev, nxt in itertools.pairwise(chunks):
        assert nxt.start >= prev.end
    assert len(chunks) < len(chunk_article(article, ChunkingOptions(64, 16)))


def test_sample_articles_overlap_with_default_options() -> None:
    for article in sample_articles():
        chunks = chunk_article(article, ChunkingOptions(200, 40))
        overlaps = [count_tokens(article.text[n.start : p.end]) for p, n in itertools.pairwise(chunks)]
        assert any(n.start < p.end for p, n in itertools.pairwise(chunks))
        assert all(t <= 40 for t in overlaps if t > 0)


def test_a_very_long_sentence_is_cut_at_word_boundaries() -> None:
    words = [f"mot{i}" for i in range(3000)]
    text = "Une phrase interminable " + " ".join(words) + " se termine enfin."
    article = Article(id="long", text=text)
    chunks = chunk_article(article, ChunkingOptions(50, 10))
    assert len(chunks) > 10
    _assert_well_formed(article, chunks)
    _assert_covers_all_text(article, chunks)
    for c in chunks:
        assert c.n_tokens <= 50
        assert c.start == 0 or text[c.start - 1] == " ", "cut inside a word"
        assert c.end == len(text) or text[c.end] == " ", "cut inside a word"
    joined_words = {w for c in chunks for w in c.text.split()}
    assert set(words) <= joined_words


def test_an_unsplittable_word_is_hard_cut_within_budget() -> None:
    debris = "https://exemple.fr/" + "x7Qz" * 1500
    text = f"Lien : {debris} fin de l'article."
    article = Article(id="url", text=text)
    chunks = chunk_article(article, ChunkingOptions(32, 0))
    _assert_well_formed(article, chunks)
    _assert_covers_all_text(article, chunks)
    assert all(c.n_tokens <= 32 for c in chunks)
    pieces = [c for c in chunks if debris[100:120] in c.text or c.text in debris]
    assert len(pieces) > 5


def test_a_single_sentence_that_fits_is_one_chunk() -> None:
    article = Article(id="one", text="Kirill Dmitriev dirigera la délégation russe à Miami.")
    chunks = chunk_article(article, ChunkingOptions(200, 40))
    assert [(c.start, c.end, c.text) for c in chunks] == [(0, len(article.text), article.text)]


def test_empty_text_gives_no_chunk() -> None:
    assert chunk_article(Article(id="vide", text="")) == []


@pytest.mark.parametrize(("max_tokens", "overlap"), [(4, 0), (8, 8), (32, 40), (32, -1)])
def test_invalid_options_are_refused(max_tokens: int, overlap: int) -> None:
    with pytest.raises(ValueError):
        ChunkingOptions(max_tokens, overlap)
