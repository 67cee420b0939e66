"""Where the simulated XCP keeps things, and its speed and fault knobs.

The configuration is a JSON file named by ``XCP_SIM_CONFIG`` (tests write one per XCP host and put
a wrapper on the SSH user's ``PATH``); XCP's own ``XCP_CATALOG_PATH`` and ``XCP_LOG_DIR`` override
the catalog and log locations as they do for the real tool.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

ENV_CONFIG = "XCP_SIM_CONFIG"


@dataclass(frozen=True)
class XcpConfig:
    """One simulated XCP host.

    :param root: ``server:/export/path`` is the directory ``root/server/export/path``.
    :param catalog: the catalog directory (indexes under ``catalog/indexes``); ``XCP_CATALOG_PATH``
        overrides it, as a directory or as ``server:/export`` under ``root``.
    :param xcp_home: stands for ``/opt/NetApp/xFiles/xcp``: ``xcp.log`` and ``xcplogs/`` live here.
    :param bytes_per_second: copy speed (0: as fast as the disk goes).
    :param fail_after_files: ``copy`` fails (``STATUS : FAILED``, exit 1) after copying this many
        files, leaving a resumable index (``None``: never).
    :param progress_interval: seconds between progress lines (XCP: 5).
    :param require_root: refuse to run unless the effective user is root, as XCP for NFS does.
    """

    root: str
    catalog: str
    xcp_home: str
    bytes_per_second: int = 0
    fail_after_files: int | None = None
    progress_interval: float = 5.0
    require_root: bool = False

    def save(self, path: Path) -> Path:
        """Write the configuration as JSON to ``path`` and return it."""
        path.write_text(json.dumps(asdict(self), indent=2))
        return path

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> XcpConfig:
        """Read a configuration written by :meth:`save` (unknown fields are an error)."""
        data: dict[str, Any] = json.loads(Path(path).read_text())
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"{path}: unknown fields {unknown}; known: {sorted(known)}")
        return cls(**data)

    def catalog_dir(self) -> Path:
        """Return the catalog directory, honouring ``XCP_CATALOG_PATH``."""
        override = os.environ.get("XCP_CATALOG_PATH")
        if override:
            if ":" in override and not override.startswith("/"):
                server, _, export = override.partition(":")
                return Path(self.root, server, export.lstrip("/"))
            return Path(override)
        return Path(self.catalog)

    def log_dir(self) -> Path:
        """Where per-job logs go: ``$XCP_LOG_DIR/<host name>/xcplogs`` or ``<xcp_home>/xcplogs``."""
        override = os.environ.get("XCP_LOG_DIR")
        if override:
            return Path(override, socket.gethostname(), "xcplogs")
        return Path(self.xcp_home, "xcplogs")


def from_environment() -> XcpConfig:
    """Read the configuration named by ``XCP_SIM_CONFIG``; raise ``LookupError`` if unset."""
    path = os.environ.get(ENV_CONFIG)
    if not path:
        raise LookupError(f"{ENV_CONFIG} is not set: point it at the simulator's JSON configuration")
    return XcpConfig.load(path)
