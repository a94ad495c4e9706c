"""Schemathesis hooks for the fuzz test: a check that fails on 500 only.

The fuzzed server runs with its LLM unreachable on purpose, so answers get the documented
503 llm_unavailable; schemathesis's built-in not_a_server_error would count those.
"""

from __future__ import annotations

from typing import Any

import schemathesis


@schemathesis.check
def no_internal_error(ctx: Any, response: Any, case: Any) -> bool | None:
    if response.status_code == 500:
        raise AssertionError(f"500 on {case.method} {case.path}: {response.text[:300]}")
    return None
