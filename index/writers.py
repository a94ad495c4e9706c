"""Who is writing a pending article, so that a writer only cleans up after writers that are gone.

Several processes (API workers, a CLI ingestion) may write to one store. An article is `pending`
while its vectors are written; a pending article whose writer died must be removed by the next
writer, but one whose writer is still at work must be left alone. Each batch takes a lease
token naming its host, process (pid and start time, so a reused pid is not mistaken for it) and
the batch itself; the token is released when the batch ends, however it ends.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

HOST = socket.gethostname()
_ACTIVE: set[str] = set()


def _process_stat(pid: int) -> tuple[str, str] | None:
    """(state, start time in clock ticks since boot) of a process (Linux), None where unreadable."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Fields 3 and 22; the command name (field 2) may hold spaces, so split after its closing parenthesis.
    fields = stat.rsplit(")", 1)[1].split()
    return fields[0], fields[19]


def _process_start(pid: int) -> str:
    stat = _process_stat(pid)
    return stat[1] if stat else ""


def _self() -> str:
    # Computed at each lease, not at import: a process forked after import is another writer.
    return f"{HOST}|{os.getpid()}|{_process_start(os.getpid())}"


@contextmanager
def lease() -> Iterator[str]:
    """A token for one batch of writes, active until the block ends."""
    token = f"{_self()}|{uuid.uuid4().hex}"
    _ACTIVE.add(token)
    try:
        yield token
    finally:
        _ACTIVE.discard(token)


def is_abandoned(token: str | None, since: float | None, stale_after_s: float, now: float | None = None) -> bool:
    """Whether the writer of a pending row is gone (its work will never complete)."""
    if not token or since is None:
        return True  # written before writers were recorded
    host, pid, start = [*token.split("|"), "", ""][:3]
    if host != HOST:
        # Another machine: its process cannot be seen from here, only its age.
        return (now or time.time()) - since > stale_after_s
    if f"{host}|{pid}|{start}" == _self():
        return token not in _ACTIVE
    if not pid.isdigit():
        return True
    stat = _process_stat(int(pid))
    if stat is not None:
        state, running_since = stat
        # A zombie (killed, not yet reaped) writes no more; another start time is another process.
        return state in ("Z", "X") or (bool(start) and running_since != start)
    # /proc unreadable for it (another user with hidepid, or no /proc): ask the kernel.
    return not pid_alive(int(pid))


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists (one we may not signal counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
