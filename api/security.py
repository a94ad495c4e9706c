"""API keys (hashed at rest, read or write scope) and a per-key rate limit."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass

from fastapi import Request

from api.errors import ApiError
from veille.keys import hash_key


@dataclass(frozen=True)
class Caller:
    key_hash: str | None  # None: no keys configured (loopback-only service)
    scope: str
    client: str

    @property
    def bucket(self) -> str:
        return self.key_hash or self.client


class Guard:
    def __init__(self, keys: dict[str, str], per_minute: int) -> None:
        self.keys = keys
        self.per_minute = per_minute
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def caller(self, request: Request, need: str) -> Caller:
        client = request.client.host if request.client else "?"
        if not self.keys:
            caller = Caller(None, "write", client)
        else:
            auth = request.headers.get("authorization", "")
            key = auth[7:].strip() if auth.lower().startswith("bearer ") else request.headers.get("x-api-key", "")
            if not key:
                raise ApiError(401, "unauthorized", "missing API key: send 'Authorization: Bearer <key>'")
            scope = self.keys.get(hash_key(key))
            if scope is None:
                raise ApiError(401, "unauthorized", "unknown API key")
            if need == "write" and scope != "write":
                raise ApiError(403, "forbidden", "this key is read-only; this endpoint needs a write key")
            caller = Caller(hash_key(key), scope, client)
        self._limit(caller.bucket)
        return caller

    def _limit(self, bucket: str) -> None:
        now = time.monotonic()
        with self._lock:
            hits = self._hits.setdefault(bucket, deque())
            while hits and now - hits[0] > 60.0:
                hits.popleft()
            if len(hits) >= self.per_minute:
                retry = max(1, int(60.0 - (now - hits[0])) + 1)
                raise ApiError(
                    429,
                    "rate_limited",
                    f"more than {self.per_minute} requests in a minute; retry in {retry} s",
                    {"Retry-After": str(retry)},
                )
            hits.append(now)
