"""``server:/export[/path]`` as XCP reads it, mapped to a directory under the simulator's root."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath


class XcpPathError(Exception):
    """A source or target XCP cannot use; the message is XCP's own wording."""


@dataclass(frozen=True)
class NfsPath:
    """A parsed ``server:/export[/path]``."""

    text: str
    server: str
    path: PurePosixPath

    def local(self, root: str) -> Path:
        """Return the directory standing in for this export path."""
        return Path(root, self.server, *self.path.parts[1:])


def parse(text: str) -> NfsPath:
    """Parse ``server:/export[/path]`` (``server::/ex:port`` when the export holds a colon)."""
    server, separator, path = text.partition("::") if "::" in text else text.partition(":")
    if not separator or not server or not path.startswith("/") or "/" in server:
        raise XcpPathError(f"xcp:ERROR: invalid path '{text}'")
    parts = PurePosixPath(path)
    if ".." in parts.parts:
        raise XcpPathError(f"xcp:ERROR: invalid path '{text}'")
    return NfsPath(text, server, parts)


def existing(text: str, root: str) -> tuple[NfsPath, Path]:
    """Parse ``text`` and check that its directory exists (else XCP's ``nfs3 error 2``)."""
    parsed = parse(text)
    local = parsed.local(root)
    if not local.exists():
        raise XcpPathError(f"xcp: ERROR: {text}: nfs3 error 2: no such file or directory")
    return parsed, local
