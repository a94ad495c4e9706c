"""A real `veille serve` (uvicorn) on a free loopback port, with read and write API keys."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.helpers import SAMPLE_DIR, VEILLE, free_port, running_server
from veille.keys import new_key


@dataclass
class Server:
    url: str
    read_key: str
    write_key: str
    data_dir: Path
    pid: int

    def client(self, key: str | None = "write", timeout: float = 300.0) -> httpx.Client:
        token = {"write": self.write_key, "read": self.read_key}.get(key or "", key)
        headers = {"Authorization": f"Bearer {token}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=timeout)


def start(tmp: Path, **env: str) -> Iterator[Server]:
    tmp.mkdir(parents=True, exist_ok=True)
    read_key, read_entry = new_key("read")
    write_key, write_entry = new_key("write")
    port = free_port()
    variables = {
        **os.environ,
        "VEILLE_DATA_DIR": str(tmp / "data"),
        "VEILLE_API_KEYS": f"{read_entry},{write_entry}",
        **{f"VEILLE_{k.upper()}": v for k, v in env.items()},
    }
    url = f"http://127.0.0.1:{port}"
    cmd = [str(VEILLE), "serve", "--port", str(port)]
    with running_server(cmd, f"{url}/healthz", tmp / "server.log", env=variables) as proc:
        yield Server(url, read_key, write_key, Path(variables["VEILLE_DATA_DIR"]), proc.pid)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from start(tmp_path_factory.mktemp("api"), rate_limit_per_minute="100000")


@pytest.fixture(scope="module")
def corpus(server: Server) -> Server:
    files = [("files", (p.name, p.read_bytes(), "text/plain")) for p in sorted(SAMPLE_DIR.iterdir())]
    with server.client() as c:
        assert c.post("/v1/articles", files=files).status_code == 200
    return server
