"""A simulated NetApp XCP for NFS: a real ``xcp`` executable that copies real directory trees.

``server:/export[/path]`` names a directory ``<root>/<server>/<export>[/path]``; the catalog of
indexes, the per-job logs, the progress lines and the summary block follow XCP's documented shapes,
and the exit status is 0 (``STATUS : PASSED``) or 1. Layout: ``config`` (where things live, speed
and fault knobs), ``paths`` (``server:/export`` parsing), ``catalog`` (indexes on disk), ``report``
(numbers, progress and summary as XCP prints them), ``commands`` (copy, sync, resume, verify, scan),
``main`` (the command line, installed as the ``xcp`` console script).
"""

from __future__ import annotations

from netapp_dataops_airflow.simulators.xcp.config import XcpConfig

__all__ = ["XcpConfig"]
