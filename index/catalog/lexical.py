"""The lexical (BM25, SQLite FTS5) index's search: the query's rarest terms within a postings budget."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from index.catalog.connection import Connection, filters_sql, in_batches
from veille.text.french import analyze
from veille.text.language import detect_language


@dataclass(frozen=True)
class LexicalHit:
    chunk_id: str
    score: float  # higher is better (negated FTS5 bm25)


class LexicalIndex(Connection):
    def search(
        self,
        query: str,
        limit: int,
        since: int | None = None,
        until: int | None = None,
        sources: Sequence[str] | None = None,
        max_postings: int = 0,
    ) -> list[LexicalHit]:
        """BM25 over the chunks of complete articles, best first.

        With `max_postings`, only the query's rarest terms are searched, as many as fit in that many
        (chunk, term) postings, and always the rarest one the corpus holds, whatever its count: a term
        common to a large share of the corpus weighs little in BM25 but costs a score for each chunk
        that holds it, so leaving it out bounds a query's cost however large the corpus; the dense side
        still reads the whole question.
        """
        terms = list(dict.fromkeys(analyze(query)))
        if detect_language(query) == "en":
            # An English question may be about English articles (indexed with English rules) or
            # French ones (French rules): both analyses are searched.
            terms = list(dict.fromkeys([*analyze(query, lang="en"), *terms]))
        if max_postings:
            terms = self._rarest(terms, max_postings)
        if not terms:
            return []
        match = " OR ".join(f'"{t}"' for t in terms)
        where, params = filters_sql(since, until, sources)
        if since is None and until is None and not sources:
            # BM25's best chunks ranked inside FTS5 first, then those of incomplete articles dropped:
            # joining every match before ranking cost two look-ups per posting (lexical p50 26.2 ms
            # against 11.0, same hits; 200 ledes on 99,851 chunks, benchmarks/README.md). Only
            # articles mid-write are dropped, so twice `limit` ranked chunks nearly always leave
            # `limit`; when they do not, the joined query below runs.
            hits = self._hits(
                f"""SELECT c.id AS chunk_id, f.score AS score
                    FROM (SELECT rowid, bm25(chunks_fts) AS score FROM chunks_fts
                          WHERE chunks_fts MATCH ? ORDER BY score, rowid LIMIT ?) f
                    JOIN chunks c ON c.rowid = f.rowid
                    JOIN articles a ON a.id = c.article_id
                    WHERE {where}
                    ORDER BY f.score, c.rowid LIMIT ?""",
                [match, 2 * limit, *params, limit],
            )
            if len(hits) == limit:
                return hits
        return self._hits(
            f"""SELECT c.id AS chunk_id, bm25(chunks_fts) AS score
                FROM chunks_fts
                JOIN chunks c ON c.rowid = chunks_fts.rowid
                JOIN articles a ON a.id = c.article_id
                WHERE chunks_fts MATCH ? AND {where}
                ORDER BY score, c.rowid LIMIT ?""",
            [match, *params, limit],
        )

    def _hits(self, sql: str, params: list[object]) -> list[LexicalHit]:
        with self._lock:
            rows = self._db.execute(sql, params).fetchall()
        return [LexicalHit(r["chunk_id"], -float(r["score"])) for r in rows]

    def _rarest(self, terms: list[str], max_postings: int) -> list[str]:
        df: dict[str, int] = {}
        with self._lock:
            for part, marks in in_batches(terms):
                rows = self._db.execute(f"SELECT term, df FROM term_df WHERE term IN ({marks})", part).fetchall()
                df.update({r["term"]: int(r["df"]) for r in rows})
        kept: list[str] = []
        total = 0
        for term in sorted(terms, key=lambda t: df.get(t, 0)):
            if total and total + df.get(term, 0) > max_postings:
                break
            kept.append(term)
            total += df.get(term, 0)
        return kept
