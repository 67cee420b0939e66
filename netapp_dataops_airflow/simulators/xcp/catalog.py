"""The catalog of indexes on disk: ``<catalog>/catalog/indexes/<name>/``.

An index records the source, the target and every file copied with its size and mtime. A copy
writes the header first and appends each copied file to a journal as it goes, so a copy that dies
part-way leaves an index ``resume`` can finish; ``complete`` is set when the copy ends. ``sync``
compares the source with the index and replaces it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@+-]{0,179}")


class CatalogError(Exception):
    """An index cannot be used; the message is what XCP prints."""


@dataclass
class Index:
    """One index: where from, where to, what was copied (relative path -> [size, mtime_ns])."""

    name: str
    source: str
    target: str
    complete: bool = False
    files: dict[str, list[int]] = field(default_factory=dict)


class Catalog:
    """The indexes under one catalog directory."""

    def __init__(self, catalog_dir: Path) -> None:
        self.indexes = catalog_dir / "catalog" / "indexes"

    def _dir(self, name: str) -> Path:
        if not _NAME.fullmatch(name):
            raise CatalogError(f"xcp: ERROR: invalid index name '{name}'")
        return self.indexes / name

    def create(self, index: Index) -> None:
        """Start a new index; a name in use is an error."""
        directory = self._dir(index.name)
        self.indexes.mkdir(parents=True, exist_ok=True)
        try:
            directory.mkdir()
        except FileExistsError:
            raise CatalogError(
                f"xcp: ERROR: index '{index.name}' already exists; choose another -newid name"
            ) from None
        self.save(index)

    def save(self, index: Index) -> None:
        """Write the index atomically and empty its journal."""
        directory = self._dir(index.name)
        temporary = directory / "index.json.tmp"
        temporary.write_text(json.dumps(index.__dict__))
        os.replace(temporary, directory / "index.json")
        (directory / "journal").write_text("")

    def load(self, name: str) -> Index:
        """Read an index with its journal; an unknown or unreadable one is XCP's "Empty or invalid index"."""
        directory = self._dir(name)
        try:
            data = json.loads((directory / "index.json").read_text())
            index = Index(**data)
        except (OSError, ValueError, TypeError):
            raise CatalogError("xcp: ERROR: Empty or invalid index") from None
        with contextlib.suppress(OSError):
            for line in (directory / "journal").read_text().splitlines():
                with contextlib.suppress(ValueError):
                    path, size, mtime = json.loads(line)
                    index.files[path] = [size, mtime]
        return index

    @contextlib.contextmanager
    def journal(self, name: str) -> Iterator[IO[str]]:
        """Append copied files to the index as they are copied (one JSON line each)."""
        with open(self._dir(name) / "journal", "a", buffering=1) as stream:
            yield stream

    @contextlib.contextmanager
    def sync_lock(self) -> Iterator[None]:
        """Hold the host's one ``sync`` slot: XCP does not support two syncs at once."""
        self.indexes.mkdir(parents=True, exist_ok=True)
        with open(self.indexes.parent / "sync.lock", "a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise CatalogError(
                    "xcp: ERROR: another sync is running on this host; run one sync at a time"
                ) from None
            yield
