"""Embedded Chroma, one process per folder: a second process is refused with a message naming the
first, stores of one process share the folder, and a Chroma server needs no lock."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from index.store import Store
from index.vectors import StoreError
from tests.helpers import ROOT, make_settings, other_process_holding


def _can_open_elsewhere(folder: Path) -> bool:
    """Whether another process could take `folder`'s lock now."""
    code = (
        "import sys; from pathlib import Path; from index.folder_lock import acquire, FolderBusy\n"
        f"try: acquire(Path({str(folder)!r}))\nexcept FolderBusy: sys.exit(3)"
    )
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 0


def test_a_second_process_is_refused_with_what_to_do(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data")
    with other_process_holding(settings.chroma_path) as proc:
        with pytest.raises(StoreError) as refused:
            Store(settings)
        message = str(refused.value)
        assert f"another process (pid {proc.pid}: " in message
        assert "one process per data folder" in message and "VEILLE_CHROMA_URL" in message
        assert not settings.sqlite_path.exists(), "nothing opened before the lock was taken"
    store = Store(settings)  # the holder is gone: the operating system released its lock
    store.close()


def test_stores_of_one_process_share_the_folder_until_the_last_closes(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data")
    first, second = Store(settings), Store(settings)
    assert not _can_open_elsewhere(settings.chroma_path)
    first.close()
    first.close()  # closing twice does not let go of the second store's share
    assert not _can_open_elsewhere(settings.chroma_path)
    second.close()
    assert _can_open_elsewhere(settings.chroma_path)


def test_a_chroma_server_takes_no_lock(tmp_path: Path) -> None:
    embedded = make_settings(tmp_path / "data")
    with other_process_holding(embedded.chroma_path):
        store = Store(make_settings(tmp_path / "data", chroma_url="http://127.0.0.1:9"))
        store.close()
