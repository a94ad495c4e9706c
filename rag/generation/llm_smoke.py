"""Prove the embedded LLM's build on this CPU: load it, evaluate a 512+ token prompt, generate a few tokens.

Run by scripts/install.sh as its own process (`python -m rag.generation.llm_smoke`): a build whose kernels this
CPU cannot run dies here with a signal (SIGILL, or SIGSEGV at AMX's `ldtilecfg`) instead of later
under a user's question. One token is not enough: llama.cpp takes its batched matrix kernels only for
a prompt batch, which is where the AMX build crashed. Exit 0 and one summary line when it works.
"""

from __future__ import annotations

import sys
import time

from rag.generation.model_weights import ModelWeightsError
from veille.settings import Settings

MIN_PROMPT_TOKENS = 512


def system_info() -> str:
    """llama.cpp's own account of the SIMD paths compiled in (no model needed)."""
    import llama_cpp

    raw = llama_cpp.llama_print_system_info()
    return (raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)).strip()


def _prompt_text() -> str:
    # Varied French prose so the tokenizer does not collapse it; repeated until long enough.
    base = (
        "Les négociations ont repris mardi à Genève entre les délégations, qui se sont séparées sans accord "
        "après sept heures de discussions sur le calendrier, les garanties de sécurité et la reconstruction. "
    )
    return base * 12


def run(settings: Settings) -> str:
    from llama_cpp import Llama

    from rag.generation.model_weights import ensure_model

    path = settings.llm_model_path or ensure_model(settings.model_cache_dir)
    t0 = time.perf_counter()
    llm = Llama(model_path=str(path), n_ctx=2048, n_threads=settings.threads, n_batch=512, verbose=False)
    loaded = time.perf_counter() - t0
    tokens = llm.tokenize(_prompt_text().encode("utf-8"))
    if len(tokens) < MIN_PROMPT_TOKENS:
        raise RuntimeError(f"the smoke prompt is {len(tokens)} tokens, under {MIN_PROMPT_TOKENS}")
    t1 = time.perf_counter()
    out = llm.create_completion(_prompt_text(), max_tokens=4, temperature=0.0)
    took = time.perf_counter() - t1
    generated = out["usage"]["completion_tokens"]  # type: ignore[index]
    return (
        f"embedded LLM ok: {path.name} loaded in {loaded:.1f} s; {len(tokens)} prompt tokens and {generated} "
        f"generated in {took:.1f} s on {settings.threads} threads\nllama.cpp: {system_info()}"
    )


def main() -> int:
    try:
        print(run(Settings()))
    except ModelWeightsError as exc:
        print(f"the embedded LLM's weights: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
