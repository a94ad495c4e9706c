"""The lean prompt cache: a prefix evaluated before, then evicted by another prompt, is not read again."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from rag.generation import prompt_cache
from rag.generation.model_weights import ensure_model
from veille.settings import Settings

pytestmark = pytest.mark.slow

SYSTEM = " ".join(f"Règle {i} : réponds seulement à partir des phrases numérotées, et cite-les." for i in range(12))


@pytest.fixture(scope="module")
def llama() -> Iterator[Any]:
    from llama_cpp import Llama

    model = Llama(
        model_path=str(ensure_model(Settings().model_cache_dir)),
        n_ctx=1024, n_batch=512, n_threads=Settings().threads, verbose=False, seed=0,
    )  # fmt: skip
    yield model
    model.close()


def _evaluated(llama: Any, prompt: str) -> tuple[int, str]:
    """Prompt tokens llama.cpp evaluated for this completion, and its text."""
    counted: list[int] = []
    plain_eval = llama.eval

    def counting(tokens: Any) -> None:
        counted.append(len(tokens))
        plain_eval(tokens)

    llama.eval = counting
    try:
        out = llama.create_completion(prompt, max_tokens=4, temperature=0.0)
    finally:
        del llama.eval
    # Each generated token is one more eval call of one token: the first call holds the prompt's.
    return counted[0] if counted else 0, out["choices"][0]["text"]


def test_an_evicted_prefix_comes_back_from_the_cache_with_the_same_output(llama: Any) -> None:
    first = f"{SYSTEM}\nQuestion : où se tiennent les négociations ?\nRéponse :"
    other = "Réécris la question de suivi en une question complète : Et la délégation ukrainienne ?"
    # A continuation with a wide margin: llama.cpp's result may differ in the last bits with the batch
    # split (a restored prefix, then the rest), and the check is that the state is the same, not luck.
    second = f"{SYSTEM}\nQuestion : complète la suite.\nRéponse : lundi, mardi, mercredi, jeudi,"
    prefix = len(llama.tokenize(f"{SYSTEM}\nQuestion :".encode()))
    total = len(llama.tokenize(second.encode()))

    llama.set_cache(None)
    llama.reset()
    _evaluated(llama, first)
    _evaluated(llama, other)
    uncached, plain_text = _evaluated(llama, second)
    assert uncached >= total - 2  # the other prompt evicted the shared prefix: all of it read again

    assert prompt_cache.enable(llama, 64)
    llama.reset()
    _evaluated(llama, first)
    _evaluated(llama, other)
    cached, cached_text = _evaluated(llama, second)
    assert cached <= total - prefix + 1  # only what follows the shared prefix
    assert cached_text == plain_text and "vendredi" in cached_text.lower()  # and the model says the same thing


def test_zero_megabytes_means_no_cache(llama: Any) -> None:
    llama.set_cache(None)
    assert not prompt_cache.enable(llama, 0)
    assert llama.cache is None


def test_a_restored_state_does_not_touch_the_per_token_logits(llama: Any) -> None:
    # They are n_batch x vocabulary floats (~311 MB for this model) that nothing reads here.
    assert prompt_cache.enable(llama, 64)
    llama.reset()
    _evaluated(llama, f"{SYSTEM}\nQuestion : un ?")
    state = llama.save_state()
    assert state.scores.shape[0] == 1
    llama.scores[:4, :] = 7.0
    llama.load_state(state)
    assert llama.n_tokens == state.n_tokens and (llama.scores[:4, :] == 7.0).all()
