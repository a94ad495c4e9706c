"""One process at a time in an embedded Chroma folder.

Chroma's embedded mode keeps its HNSW index in memory and writes it back from each process that
opens the folder; two processes at once leave an index whose filtered queries fail ("Error
finding id", measured on the scale store). An advisory lock file makes the second process stop
with a message instead. Within one process, stores share the lock; the operating system releases
it when the process ends, however it ends.
"""

from __future__ import annotations

import fcntl
import os
import sys
import threading
from pathlib import Path
from typing import IO

LOCK_FILE = "veille.lock"

_held: dict[Path, tuple[IO[str], int]] = {}  # folder -> (open lock file, stores using it)
_guard = threading.Lock()


def _forget_in_child() -> None:
    """A forked child inherits the open lock files but is another process: it must take the lock
    itself (and be refused while the parent holds it), not believe it holds it; and the guard may have
    been held by a parent thread that does not exist in the child."""
    global _guard
    _held.clear()
    _guard = threading.Lock()


os.register_at_fork(after_in_child=_forget_in_child)


class FolderBusy(RuntimeError):
    """Another process has the folder open."""


def acquire(folder: Path) -> None:
    """Hold `folder`'s lock for this process (again, if already held); raises FolderBusy."""
    key = folder.resolve()
    with _guard:
        if key in _held:
            fh, users = _held[key]
            _held[key] = (fh, users + 1)
            return
        key.mkdir(parents=True, exist_ok=True)
        fh = (key / LOCK_FILE).open("a+", encoding="utf-8")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "unknown"
            fh.close()
            raise FolderBusy(holder) from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()}: {' '.join(sys.argv)[:200]}\n")
        fh.flush()
        _held[key] = (fh, 1)


def release(folder: Path) -> None:
    """One store of this process is done with `folder`; the last one lets other processes in."""
    key = folder.resolve()
    with _guard:
        if key not in _held:
            return
        fh, users = _held[key]
        if users > 1:
            _held[key] = (fh, users - 1)
            return
        del _held[key]
        fh.close()  # closing the file releases the lock
