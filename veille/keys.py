"""API keys as settings hold them, and the rule of who may reach a service without one.

Parsing VEILLE_API_KEYS and deciding whether a bind address is safe without keys are the same rule
for `veille serve` and for an app built by `create_app` under any other server: it lives here, once.
"""

from __future__ import annotations

import hashlib
import secrets

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_key(scope: str) -> tuple[str, str]:
    """A fresh secret and the entry to put in VEILLE_API_KEYS (only the hash is kept)."""
    if scope not in ("read", "write"):
        raise ValueError("scope must be read or write")
    key = "vk_" + secrets.token_urlsafe(24)
    return key, f"{scope}:{hash_key(key)}"


def parse_keys(spec: str) -> dict[str, str]:
    """{sha256: scope} from "read:<hex>,write:<hex>"."""
    out: dict[str, str] = {}
    for raw in spec.split(","):
        entry = raw.strip()
        if not entry:
            continue
        scope, _, digest = entry.partition(":")
        if scope not in ("read", "write") or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise ValueError(
                f"VEILLE_API_KEYS entry {entry[:12]!r}… must be read:<sha256 hex> or write:<sha256 hex>; "
                "`veille keys create --scope write` prints one"
            )
        out[digest] = scope
    return out


def exposure_notice(bind: str, spec: str) -> str:
    """Whether a service bound to `bind` with these keys may start: the notice to print ("" when keys
    guard it), or ValueError when it would let anyone on the network read and write."""
    keys = parse_keys(spec)
    if keys:
        return ""
    if bind not in LOOPBACK:
        raise ValueError(
            f"no API keys configured: refusing to listen on {bind}. "
            "Set VEILLE_API_KEYS (`veille keys create --scope write`) or keep the default 127.0.0.1."
        )
    return "no API keys configured: listening on loopback only, every local client may read and write"
