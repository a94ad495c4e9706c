"""The API through a real uvicorn server: ingestion, reads, errors, auth and limits (no LLM call)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.conftest import Server, start
from tests.helpers import SAMPLE_DIR, SHORT_ARTICLES, VEILLE

pytestmark = pytest.mark.server


def _error(resp: object, status: int, code: str) -> str:
    assert resp.status_code == status, resp.text  # type: ignore[attr-defined]
    body = resp.json()  # type: ignore[attr-defined]
    assert set(body) == {"error"} and body["error"]["code"] == code
    return str(body["error"]["message"])


@pytest.fixture(scope="module")
def ingested(server: Server) -> Server:
    files = [("files", (p.name, p.read_bytes(), "text/plain")) for p in sorted(SAMPLE_DIR.iterdir())]
    with server.client() as c:
        r = c.post("/v1/articles", files=files)
        assert r.status_code == 200, r.text
        assert [i["status"] for i in r.json()["items"]] == ["added", "added"]
    return server


def test_health_and_readiness(server: Server) -> None:
    with server.client(None) as c:
        assert c.get("/healthz").json() == {"status": "ok"}
        ready = c.get("/readyz")
        assert ready.json()["checks"]["store"] == "ok" and ready.json()["checks"]["embedder"] == "ok"


def test_keys_are_required_and_scoped(ingested: Server) -> None:
    with ingested.client(None) as anon, ingested.client("read") as ro, ingested.client("vk_wrong") as wrong:
        assert "Authorization: Bearer" in _error(anon.get("/v1/articles"), 401, "unauthorized")
        _error(wrong.get("/v1/articles"), 401, "unauthorized")
        assert ro.get("/v1/articles").status_code == 200
        assert "read-only" in _error(ro.post("/v1/articles", json={"text": "x" * 50}), 403, "forbidden")
        _error(ro.delete("/v1/articles/whatever"), 403, "forbidden")


def test_json_batch_statuses_name_what_was_rejected(ingested: Server) -> None:
    arts = [{"id": k, **v} for k, v in SHORT_ARTICLES.items()]
    with ingested.client() as c:
        first = c.post("/v1/articles", json={"articles": [*arts, {"id": "vide", "text": "   "}]}).json()["items"]
        assert sorted((i["id"] or "", i["status"]) for i in first) == sorted(
            [*((a["id"], "added") for a in arts), ("", "rejected")]
        )
        [rejected] = [i for i in first if i["status"] == "rejected"]
        assert "empty" in rejected["reason"] and "vide" in rejected["reason"]
        again = c.post("/v1/articles", json=arts[0]).json()["items"]
        assert again == [{"id": arts[0]["id"], "status": "unchanged", "reason": None}]
        changed = c.post("/v1/articles", json={**arts[0], "text": arts[0]["text"] + " Mise à jour."}).json()
        assert changed["items"][0]["status"] == "replaced"
        not_json = c.post("/v1/articles", content=b"{oops", headers={"Content-Type": "application/json"})
        assert "not JSON" in _error(not_json, 422, "invalid_request")
        assert "text" in _error(c.post("/v1/articles", json={"title": "sans texte"}), 422, "invalid_request")


def test_list_filter_page_read_and_delete(ingested: Server) -> None:
    with ingested.client() as c:
        page = c.get("/v1/articles", params={"source": "exemple-relais-axios"}).json()
        assert [a["source"] for a in page["items"]] == ["exemple-relais-axios"] and page["next_offset"] is None
        first = c.get("/v1/articles", params={"limit": 1}).json()
        assert len(first["items"]) == 1 and first["next_offset"] == 1
        dated = c.get("/v1/articles", params={"since": "2025-12-01", "until": "2025-12-31"}).json()["items"]
        assert {a["date"] for a in dated} == {"2025-12-18"}
        one = c.get(f"/v1/articles/{page['items'][0]['id']}").json()
        assert "Umerov" in one["text"]
        assert "unknown source" in _error(c.get("/v1/articles", params={"source": "nope"}), 422, "invalid_request")
        assert "YYYY-MM-DD" in _error(c.get("/v1/articles", params={"since": "hier"}), 422, "invalid_request")
        assert c.delete("/v1/articles/glaciers-2025").status_code == 204
        _error(c.get("/v1/articles/glaciers-2025"), 404, "not_found")
        _error(c.delete("/v1/articles/glaciers-2025"), 404, "not_found")


def test_bad_questions_are_422_with_what_to_fix(ingested: Server) -> None:
    with ingested.client("read") as c:
        assert "question" in _error(c.post("/v1/answers", json={}), 422, "invalid_request")
        _error(c.post("/v1/answers", json={"question": "   "}), 422, "invalid_request")
        long_q = " ".join(["négociation"] * 250)  # under the 4,000-character schema cap, over 200 tokens
        assert "tokens" in _error(c.post("/v1/answers", json={"question": long_q}), 422, "invalid_request")
        bad_source = {"question": "Qui ?", "filters": {"sources": ["nope"]}}
        assert "unknown source" in _error(c.post("/v1/answers", json=bad_source), 422, "invalid_request")


def test_nothing_relevant_is_refused_without_the_model(ingested: Server) -> None:
    with ingested.client("read") as c:
        r = c.post("/v1/answers", json={"question": "Quelle est la recette de la tarte tatin ?"}).json()
    assert r["refused"] and r["citations"] == [] and "llm_s" not in r["timings"]


def test_digest_not_built_yet_says_how_to_build_it(ingested: Server) -> None:
    with ingested.client("read") as c:
        assert "POST /v1/digests" in _error(c.get("/v1/digests/2025-12-18"), 404, "not_found")
        _error(c.get("/v1/digests/18-12-2025"), 422, "invalid_request")


def test_metrics_and_openapi(ingested: Server) -> None:
    with ingested.client("read") as c:
        text = c.get("/metrics").text
        assert "veille_requests_total" in text and 'route="/v1/articles"' in text
        schema = c.get("/openapi.json").json()
    assert {"/v1/articles", "/v1/answers", "/v1/chat/completions", "/v1/digests", "/v1/digests/{day}"} <= set(
        schema["paths"]
    )
    assert schema["components"]["schemas"]["AnswerRequest"]["examples"]


def test_the_web_page_is_served(server: Server) -> None:
    with server.client(None) as c:
        page = c.get("/")
    assert page.status_code == 200 and "/v1/answers" in page.text and "<script" in page.text


@pytest.fixture(scope="module")
def tight(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from start(tmp_path_factory.mktemp("api-tight"), rate_limit_per_minute="5", max_body_mb="0.01")


def test_oversized_bodies_are_413_and_bursts_429(tight: Server) -> None:
    with tight.client() as c:
        big = {"text": "mot " * 5000}
        assert "VEILLE_MAX_BODY_MB" in _error(c.post("/v1/articles", json=big), 413, "payload_too_large")
        codes = [c.get("/v1/articles").status_code for _ in range(6)]
        assert 429 in codes
        r = c.get("/v1/articles")
        _error(r, 429, "rate_limited")
        assert int(r.headers["Retry-After"]) >= 1


def test_serve_refuses_a_public_interface_without_keys(tmp_path: Path) -> None:
    env = {"VEILLE_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [str(VEILLE), "serve", "--host", "0.0.0.0"], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2 and "VEILLE_API_KEYS" in done.stderr


def test_search_returns_the_passage_without_the_model(ingested: Server) -> None:
    with ingested.client("read") as c:
        r = c.post("/v1/search", json={"query": "Qui dirige la délégation russe ?", "k": 3})
        assert r.status_code == 200, r.text
        passages = r.json()["passages"]
        assert len(passages) == 3 and any("Dmitriev" in p["text"] for p in passages)
        only = c.post("/v1/search", json={"query": "délégation", "filters": {"sources": ["exemple-relais-politico"]}})
        assert {p["source"] for p in only.json()["passages"]} == {"exemple-relais-politico"}
