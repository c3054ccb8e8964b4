"""Dialogue state in files, one per user: ``dalil ask --user ID`` keeps a conversation between runs.

Each run of ``dalil ask`` is a new process, so process memory forgets the shared location, the open
question and the language; this store keeps them on disk (``var/state/`` by default) with the same TTL
as the other stores. Not meant for serving: use Redis for that.
"""

from __future__ import annotations

import os
import tempfile
import time
from contextlib import AbstractAsyncContextManager
from pathlib import Path

from bot.state import DEFAULT_TTL_S, KeyedLocks, UserState, once_per_task

__all__ = ["FileStateStore"]


class FileStateStore:
    """State as JSON files under a directory; a file older than the TTL reads as a fresh state."""

    def __init__(self, directory: Path, ttl_s: float = DEFAULT_TTL_S) -> None:
        """Keep state under ``directory`` (created when first written)."""
        self.directory = directory
        self.ttl_s = ttl_s
        self._locks = KeyedLocks()

    def _path(self, key: str) -> Path:
        return self.directory / f"{key}.json"  # keys are hashes (user_key): safe as file names

    async def get(self, key: str) -> UserState:  # noqa: D102
        path = self._path(key)
        try:
            if time.time() - path.stat().st_mtime > self.ttl_s:
                return UserState()
            return UserState.from_json(path.read_text(encoding="utf-8"))
        except OSError:
            return UserState()

    async def put(self, key: str, state: UserState) -> None:  # noqa: D102
        self.directory.mkdir(parents=True, exist_ok=True)
        # Written beside and renamed over, so a run killed mid-write never leaves half a file.
        fd, temp = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(state.to_json())
        Path(temp).replace(self._path(key))  # noqa: ASYNC240 - one small file, for the one-shot CLI

    def lock(self, key: str) -> AbstractAsyncContextManager[None]:  # noqa: D102
        return once_per_task(key, lambda: self._locks.hold(key))

    async def ping(self) -> bool:  # noqa: D102
        return True

    async def close(self) -> None:  # noqa: D102
        return None
