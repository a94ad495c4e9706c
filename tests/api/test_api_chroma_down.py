"""The API over a real Chroma server that goes down and comes back: 503 with a clear message, then service."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.conftest import Server, start
from tests.helpers import SHORT_ARTICLES, free_port, running_server

pytestmark = pytest.mark.server
CHROMA = Path(sys.executable).parent / "chroma"


def _chroma(folder: Path, port: int) -> Iterator[object]:
    cmd = [str(CHROMA), "run", "--path", str(folder / "db"), "--host", "127.0.0.1", "--port", str(port)]
    with running_server(cmd, f"http://127.0.0.1:{port}/api/v2/heartbeat", folder / f"chroma-{port}.log") as proc:
        yield proc


def test_chroma_down_is_503_then_the_service_recovers(tmp_path: Path) -> None:
    port = free_port()
    chroma = _chroma(tmp_path, port)
    next(chroma)
    api_gen = start(tmp_path / "api", chroma_url=f"http://127.0.0.1:{port}", rate_limit_per_minute="100000")
    api: Server = next(api_gen)
    try:
        arts = [{"id": k, **v} for k, v in SHORT_ARTICLES.items()]
        with api.client() as c:
            assert c.post("/v1/articles", json={"articles": arts[:1]}).status_code == 200
        chroma.close()  # stops the Chroma server
        with api.client() as c:
            down = c.post("/v1/articles", json={"articles": arts[1:2]})
            assert down.status_code == 503, down.text
            assert down.json()["error"]["code"] == "store_unavailable"
            assert "Chroma" in down.json()["error"]["message"]
            assert c.get("/readyz").status_code == 503
        chroma = _chroma(tmp_path, port)
        next(chroma)
        with api.client() as c:
            again = c.post("/v1/articles", json={"articles": arts[1:2]})
            assert again.status_code == 200 and again.json()["items"][0]["status"] == "added"
            ids = {a["id"] for a in c.get("/v1/articles").json()["items"]}
            assert ids == {arts[0]["id"], arts[1]["id"]}  # nothing lost, nothing half-written
    finally:
        api_gen.close()
        chroma.close()
