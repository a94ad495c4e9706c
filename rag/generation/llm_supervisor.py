"""Find, start and restart the embedded model's process (`rag.generation.llm_worker`), shared by all Veille processes.

A crash in llama.cpp's native code (SIGSEGV, SIGILL) or a kill must not take the caller down: the
model lives in its own process on loopback, and callers talk to it like any OpenAI-compatible server.

One worker per model settings on this machine: its pid and port are written to
`<model_cache_dir>/llm-worker/<key>.json`, and starting one is serialised by an flock on `<key>.lock`,
so several `veille serve` workers (or a CLI command beside them) share one model instead of loading
1.1 GB each. Health is asked on a route that never waits for the model (`/veille/health`), so a busy
worker is not mistaken for a dead one; a dead one is started again on the next call.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from index.writers import pid_alive
from rag.generation import prompt_cache
from rag.generation.llm_worker import COUNT_PATH, HEALTH_PATH, REVISION


class WorkerError(RuntimeError):
    """The model's process cannot be started or reached; the message says why and what to do."""


@dataclass(frozen=True)
class WorkerSpec:
    model_path: Path
    n_ctx: int
    threads: int
    n_batch: int = 512
    idle_exit_s: float = 900.0
    start_timeout_s: float = 180.0
    prompt_cache_mb: int = prompt_cache.DEFAULT_MB

    @property
    def key(self) -> str:
        stat = self.model_path.stat()
        raw = (
            f"{self.model_path.resolve()}|{stat.st_size}|{self.n_ctx}|{self.threads}|{self.n_batch}"
            f"|{self.prompt_cache_mb}|{REVISION}"
        )
        return hashlib.sha256(raw.encode()).hexdigest()[:16]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Supervisor:
    """The URL of a healthy worker for one spec, starting or restarting it as needed."""

    def __init__(self, spec: WorkerSpec, state_dir: Path) -> None:
        self.spec = spec
        self.state_dir = state_dir
        self.key = spec.key
        self._state_file = state_dir / f"{self.key}.json"
        self._lock_file = state_dir / f"{self.key}.lock"
        self.log_file = state_dir / f"{self.key}.log"
        self._known: dict[str, Any] | None = None
        self._child: subprocess.Popen[bytes] | None = None
        self._local = threading.Lock()
        self.restarts = 0
        # One client for the health checks and token counts around every answer: httpx.get() builds
        # a client (and its TLS context) per call, ~55 ms each here against ~2 ms on a kept one,
        # three times per answer. Loopback HTTP only, so no TLS and no proxies from the environment.
        self._http = httpx.Client(verify=False, trust_env=False)

    # -- health -------------------------------------------------------------------------------------
    def health(self, state: dict[str, Any] | None = None, timeout: float = 2.0) -> dict[str, Any] | None:
        state = state if state is not None else self._read_state()
        if not state:
            return None
        if self._child is not None and self._child.pid == state.get("pid"):
            self._child.poll()  # reap our own dead child, so its pid is not a zombie that looks alive
            if self._child.returncode is not None:
                return None
        try:
            r = self._http.get(f"http://127.0.0.1:{state['port']}{HEALTH_PATH}", timeout=timeout)
            body: dict[str, Any] = r.json()
        except (httpx.HTTPError, ValueError, KeyError):
            return None
        # Another program may have taken a dead worker's port.
        return body if r.status_code == 200 and body.get("pid") == state.get("pid") else None

    def _read_state(self) -> dict[str, Any] | None:
        try:
            data: dict[str, Any] = json.loads(self._state_file.read_text())
            return data
        except (OSError, ValueError):
            return None

    # -- the one entry point -------------------------------------------------------------------------
    def url(self) -> str:
        """Base URL (…/v1) of a healthy worker; starts one when none answers."""
        with self._local:
            if self._known is not None and self.health(self._known) is not None:
                return self._base(self._known)
            self.state_dir.mkdir(parents=True, exist_ok=True)
            with self._lock_file.open("a+") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be starting it right now
                try:
                    state = self._read_state()
                    if state is not None and self.health(state) is not None:
                        self._known = state
                        return self._base(state)
                    if state is not None:
                        self._kill(state)
                        self.restarts += 1
                    self._known = self._start()
                    return self._base(self._known)
                finally:
                    fcntl.flock(lock, fcntl.LOCK_UN)

    @staticmethod
    def _base(state: dict[str, Any]) -> str:
        return f"http://127.0.0.1:{state['port']}/v1"

    def _kill(self, state: dict[str, Any]) -> None:
        """A worker that does not answer its health route is dead or hung: make sure it is gone."""
        pid = int(state.get("pid", 0))
        if pid > 0 and pid_alive(pid):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        self._state_file.unlink(missing_ok=True)

    def _start(self) -> dict[str, Any]:
        s = self.spec
        port = _free_port()
        cmd = [
            sys.executable, "-m", "rag.generation.llm_worker",
            "--model", str(s.model_path), "--port", str(port), "--n-ctx", str(s.n_ctx),
            "--n-batch", str(s.n_batch), "--threads", str(s.threads), "--idle-exit", str(s.idle_exit_s),
            "--prompt-cache-mb", str(s.prompt_cache_mb),
        ]  # fmt: skip
        log = self.log_file.open("ab")
        # Its own session: a Ctrl-C or a dying `veille serve` worker does not take the shared model down.
        # No inherited stdout: a test runner or CI pipe must not stay open behind it.
        child = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True, close_fds=True
        )
        log.close()
        self._child = child
        state = {"pid": child.pid, "port": port, "started": time.time()}
        deadline = time.monotonic() + s.start_timeout_s
        while time.monotonic() < deadline:
            if child.poll() is not None:
                raise WorkerError(
                    f"the embedded model's process exited with code {child.returncode} while loading "
                    f"{s.model_path.name}: {self._log_tail()}. If it crashed (negative code: a signal), run "
                    "scripts/install.sh again to rebuild llama.cpp for this CPU, or use an OpenAI-compatible "
                    "server with VEILLE_LLM=openai and VEILLE_LLM_URL"
                )
            if self.health(state, timeout=1.0) is not None:
                tmp = self._state_file.with_suffix(".tmp")
                tmp.write_text(json.dumps(state))
                os.replace(tmp, self._state_file)
                return state
            time.sleep(0.1)
        with contextlib.suppress(ProcessLookupError):
            child.kill()
        raise WorkerError(f"the embedded model's process did not answer within {s.start_timeout_s:.0f} s")

    def _log_tail(self, n: int = 600) -> str:
        try:
            text = self.log_file.read_text(errors="replace").strip()
        except OSError:
            return "no log"
        return " ".join(text[-n:].split()) or "nothing logged"

    # -- what callers ask of it ----------------------------------------------------------------------
    def count_tokens(self, text: str) -> int | None:
        state = self._known or self._read_state()
        if not state:
            return None
        try:
            r = self._http.post(f"http://127.0.0.1:{state['port']}{COUNT_PATH}", json={"text": text}, timeout=10.0)
            return int(r.json()["tokens"]) if r.status_code == 200 else None
        except (httpx.HTTPError, ValueError, KeyError):
            return None

    def pid(self) -> int | None:
        state = self._known or self._read_state()
        return int(state["pid"]) if state else None

    def stop(self) -> None:
        """End the worker; the next call starts a new one."""
        with self._local:
            state = self._read_state()
            if state is not None:
                self._kill(state)
            if self._child is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self._child.wait(timeout=10)
            self._known = None


_supervisors: dict[tuple[str, str], Supervisor] = {}
_supervisors_lock = threading.Lock()


def supervisor_for(spec: WorkerSpec, state_dir: Path) -> Supervisor:
    """One supervisor per spec in a process (each keeps the child it started, to reap it)."""
    with _supervisors_lock:
        k = (str(state_dir), spec.key)
        if k not in _supervisors:
            _supervisors[k] = Supervisor(spec, state_dir)
        return _supervisors[k]


def worker_pids(state_dir: Path) -> set[int]:
    """The pids of the workers recorded in `state_dir`."""
    pids = set()
    for state_file in state_dir.glob("*.json"):
        try:
            pids.add(int(json.loads(state_file.read_text())["pid"]))
        except (OSError, ValueError, KeyError):
            continue
    return pids


def stop_all(state_dir: Path, keep: Collection[int] = ()) -> int:
    """End the workers recorded in `state_dir` but those in `keep` (the end of a test session leaves
    the workers that were running before it: a developer's benchmark, say)."""
    stopped = 0
    for state_file in state_dir.glob("*.json"):
        try:
            pid = int(json.loads(state_file.read_text())["pid"])
        except (OSError, ValueError, KeyError):
            continue
        if pid in keep:
            continue
        if pid_alive(pid):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
                stopped += 1
        state_file.unlink(missing_ok=True)
    return stopped
