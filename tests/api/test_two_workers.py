"""Two API processes, one store (shared ledger folder + one Chroma server), writing at the same time."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from index.store import Filters, Store
from tests.api.conftest import Server, start
from tests.api.test_api_chroma_down import _chroma
from tests.helpers import catalog_ids, chroma_ids, free_port, make_settings

pytestmark = [pytest.mark.server, pytest.mark.slow]

TOWNS = ["Brest", "Colmar", "Dax", "Laval", "Millau", "Nevers", "Privas", "Rodez", "Sedan", "Vienne"]
TOPICS = ["la rénovation du marché couvert", "un festival de jazz", "la fermeture d'une usine", "une crue", "un budget"]


def _article(i: int) -> dict[str, str]:
    town, topic = TOWNS[i % len(TOWNS)], TOPICS[i % len(TOPICS)]
    # Long enough for several chunks, so a torn write would show as a missing or extra chunk.
    body = " ".join(
        f"Le conseil municipal de {town} a débattu pendant la séance numéro {i}-{k} de {topic}, "
        f"et le maire a promis une réponse avant la fin du mois {k}."
        for k in range(30)
    )
    return {"id": f"art-{i:03d}", "title": f"{town} : {topic} ({i})", "text": body, "date": "2026-03-02"}


def _post_in_batches(server: Server, ids: list[int], seed: int) -> list[dict[str, str]]:
    order = ids[:]
    random.Random(seed).shuffle(order)
    statuses = []
    with server.client(timeout=600) as c:
        for batch in (order[k : k + 4] for k in range(0, len(order), 4)):
            r = c.post("/v1/articles", json={"articles": [_article(i) for i in batch]})
            assert r.status_code == 200, r.text
            statuses.extend(r.json()["items"])
    return statuses


def _send_and_ignore_the_crash(server: Server, articles: list[dict[str, str]]) -> None:
    with server.client(timeout=600) as c, contextlib.suppress(httpx.HTTPError):
        c.post("/v1/articles", json={"articles": articles})


def test_two_api_processes_write_one_store_without_losing_or_duplicating(tmp_path: Path) -> None:
    port = free_port()
    chroma = _chroma(tmp_path, port)
    next(chroma)
    shared = tmp_path / "shared-data"
    env = {"chroma_url": f"http://127.0.0.1:{port}", "data_dir": str(shared), "rate_limit_per_minute": "100000"}
    first, second = start(tmp_path / "w1", **env), start(tmp_path / "w2", **env)
    try:
        a, b = next(first), next(second)
        # Overlapping sets, sent concurrently: articles 10–29 go through both processes at once.
        with ThreadPoolExecutor(2) as pool:
            fa = pool.submit(_post_in_batches, a, list(range(0, 30)), 1)
            fb = pool.submit(_post_in_batches, b, list(range(10, 40)), 2)
            statuses = fa.result() + fb.result()
        assert all(s["status"] in ("added", "unchanged", "replaced") for s in statuses), statuses
        assert {s["id"] for s in statuses} == {f"art-{i:03d}" for i in range(40)}

        for server in (a, b):
            with server.client("read") as c:
                listed = c.get("/v1/articles", params={"limit": 500}).json()["items"]
                assert sorted(x["id"] for x in listed) == [f"art-{i:03d}" for i in range(40)]
                hit = c.post("/v1/search", json={"query": "Millau : un budget, séance 34-3", "k": 3}).json()
                assert hit["passages"][0]["article_id"] == "art-034", hit

        store = Store(make_settings(shared, chroma_url=env["chroma_url"]))
        # Every article complete, with exactly its chunks in Chroma and in the lexical index.
        assert store.catalog.pending_ids() == []
        assert chroma_ids(store) == catalog_ids(store)
        for record in store.articles(Filters()):
            assert len(catalog_ids(store, record.id)) == record.n_chunks > 1

        # A worker killed in the middle of writing: the other one cleans up after it, and the
        # articles it was writing land when sent again.
        new = [_article(i) for i in range(40, 52)]
        with ThreadPoolExecutor(1) as pool:
            pool.submit(_send_and_ignore_the_crash, a, new)
            deadline = time.monotonic() + 120
            while not store.catalog.pending_ids():
                assert time.monotonic() < deadline, "the first worker never started writing"
                time.sleep(0.05)
            os.kill(a.pid, signal.SIGKILL)
        assert store.catalog.pending_ids(), "killed while writing: something is left pending"
        with b.client() as c:
            r = c.post("/v1/articles", json={"articles": new})
        assert r.status_code == 200 and {x["status"] for x in r.json()["items"]} <= {"added", "replaced"}, r.text
        assert store.catalog.pending_ids() == []
        assert chroma_ids(store) == catalog_ids(store)
        assert len(store.articles(Filters())) == 52
    finally:
        for gen in (first, second, chroma):
            gen.close()
