"""Named extensions: a component registers under a name, a setting picks it by that name.

One small typed table per kind of extension: input formats, rerankers, LLM backends, eval metrics.
Adding one is a new module with a `@REGISTRY.register("name")` line; nothing else switches on the
name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, kind: str, setting: str) -> None:
        self.kind, self.setting = kind, setting
        self._entries: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator: `@RERANKERS.register("mine")` above a factory."""

        def add(entry: T) -> T:
            if name in self._entries and self._entries[name] is not entry:
                raise ValueError(f"a {self.kind} named {name!r} is already registered")
            self._entries[name] = entry
            return entry

        return add

    def unregister(self, name: str) -> None:
        self._entries.pop(name, None)

    def get(self, name: str) -> T:
        try:
            return self._entries[name]
        except KeyError:
            known = ", ".join(sorted(self._entries)) or "none registered"
            raise ValueError(f"unknown {self.kind} {name!r} in {self.setting} (known: {known})") from None

    def names(self) -> list[str]:
        return sorted(self._entries)

    def items(self) -> list[tuple[str, T]]:
        """(name, entry) in registration order: reports list them in the order they were added."""
        return list(self._entries.items())

    def values(self) -> list[T]:
        return list(self._entries.values())
