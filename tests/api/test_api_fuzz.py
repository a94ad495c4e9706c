"""Bounded schemathesis run over the OpenAPI schema of a real server: no 500s (503s for the
unreachable LLM are documented; see st_hooks.py).

The LLM points at a closed port so that fuzzed questions that reach it fail fast
with the documented 503, instead of each taking the embedded model half a minute.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.conftest import Server, start
from tests.helpers import ROOT, free_port

pytestmark = [pytest.mark.server, pytest.mark.slow]
SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from start(
        tmp_path_factory.mktemp("api-fuzz"),
        llm="openai",
        llm_url=f"http://127.0.0.1:{free_port()}/v1",
        llm_timeout_s="5",
        rate_limit_per_minute="1000000",
    )


def test_fuzzed_requests_never_get_a_server_error(fuzz_server: Server, tmp_path: Path) -> None:
    done = subprocess.run(
        [
            str(SCHEMATHESIS), "run", f"{fuzz_server.url}/openapi.json",
            "--checks", "no_internal_error",
            "--max-examples", "8",
            "--seed", "1",
            "--request-timeout", "60",
            "--header", f"Authorization: Bearer {fuzz_server.write_key}",
        ],
        capture_output=True, text=True, timeout=1500, cwd=tmp_path,
        env={**os.environ, "SCHEMATHESIS_HOOKS": "tests.api.st_hooks", "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
