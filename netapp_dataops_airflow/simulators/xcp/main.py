"""The ``xcp`` command line of the simulator (installed as the ``xcp`` console script).

``copy [-newid NAME] [-parallel N] [-exclude F] SRC DST``, ``sync [dry-run] -id NAME``,
``resume -id NAME``, ``verify SRC DST``, ``scan [-l|-q|-stats] SRC``, ``help``. Options are XCP's
single-dash words; an unknown one is an error, as it is for XCP.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from netapp_dataops_airflow.simulators.xcp import commands
from netapp_dataops_airflow.simulators.xcp.catalog import Catalog, CatalogError
from netapp_dataops_airflow.simulators.xcp.config import from_environment
from netapp_dataops_airflow.simulators.xcp.job import Job
from netapp_dataops_airflow.simulators.xcp.paths import XcpPathError

# Options that take a value, and flags, per command (a subset of XCP's, the ones the library uses
# and a few common ones it must pass through in extra_args).
_VALUED = {"-newid", "-id", "-parallel", "-exclude", "-match", "-bs", "-dircount", "-loglevel", "-depth"}
_FLAGS = {"-l", "-q", "-stats", "-noId", "-preserve-atime", "-nodata", "-noattrs", "-nomods", "-v"}
_ALLOWED = {
    "copy": {
        "-newid",
        "-parallel",
        "-exclude",
        "-match",
        "-bs",
        "-dircount",
        "-loglevel",
        "-noId",
        "-preserve-atime",
    },
    "sync": {"-id", "-parallel", "-exclude", "-match", "-bs", "-dircount", "-loglevel", "-l", "-stats", "-v"},
    "resume": {"-id", "-parallel", "-bs", "-dircount", "-loglevel"},
    "verify": {"-parallel", "-exclude", "-match", "-nodata", "-noattrs", "-nomods", "-l", "-stats", "-v"},
    "scan": {"-l", "-q", "-stats", "-parallel", "-exclude", "-match", "-depth", "-newid", "-id"},
}

USAGE = """\
usage: xcp <command> [options] ...
commands:
  copy [-newid <name>] [-parallel <n>] [-exclude <filter>] <source> <target>
  sync [dry-run] -id <name>
  resume -id <name>
  verify <source> <target>
  scan [-l | -q | -stats] <source>
  help
paths are server:/export[/path]
"""


class UsageError(Exception):
    """The command line is wrong; the message says how."""


def parse(command: str, words: Sequence[str]) -> tuple[dict[str, str | bool], list[str]]:
    """Split ``words`` into options and positional arguments for ``command``."""
    options: dict[str, str | bool] = {}
    positional: list[str] = []
    allowed = _ALLOWED[command]
    index = 0
    while index < len(words):
        word = words[index]
        index += 1
        if word.startswith("-") and word != "-":
            if word not in allowed:
                raise UsageError(f"xcp: ERROR: {command}: unknown option '{word}'")
            if word in _VALUED:
                if index >= len(words):
                    raise UsageError(f"xcp: ERROR: {command}: option '{word}' needs a value")
                options[word] = words[index]
                index += 1
            else:
                options[word] = True
        else:
            positional.append(word)
    parallel = options.get("-parallel")
    if isinstance(parallel, str) and not (parallel.isdigit() and 1 <= int(parallel) <= 61):
        raise UsageError(f"xcp: ERROR: -parallel must be a number from 1 to 61, got '{parallel}'")
    return options, positional


def main(argv: Sequence[str] | None = None) -> int:
    """Run one xcp command; return its exit status."""
    words = list(sys.argv[1:] if argv is None else argv)
    if not words or words[0] in ("help", "-h", "--help"):
        print(USAGE, end="")
        return 0
    try:
        config = from_environment()
    except (LookupError, OSError, ValueError) as exc:
        return commands.fail(f"xcp: ERROR: simulator configuration: {exc}")
    if config.require_root and os.geteuid() != 0:
        return commands.fail("xcp: ERROR: must run as root")
    command, rest = words[0], words[1:]
    dry_run = command == "sync" and rest[:1] == ["dry-run"]
    if dry_run:
        rest = rest[1:]
    if command not in _ALLOWED:
        return commands.fail(f"xcp: ERROR: unknown command '{command}'; see 'xcp help'")
    try:
        options, positional = parse(command, rest)
        expected = 2 if command in ("copy", "verify") else 1 if command == "scan" else 0
        if len(positional) != expected:
            raise UsageError(f"xcp: ERROR: {command}: expected {expected} paths, got {len(positional)}")
        if command in ("sync", "resume") and not isinstance(options.get("-id"), str):
            raise UsageError(f"xcp: ERROR: {command}: -id <name> is required")
    except UsageError as exc:
        return commands.fail(str(exc))
    catalog = Catalog(config.catalog_dir())
    try:
        job = Job(config, command, words)
        if command == "copy":
            newid, exclude = options.get("-newid"), options.get("-exclude")
            return commands.copy(
                job,
                catalog,
                positional[0],
                positional[1],
                newid if isinstance(newid, str) else None,
                exclude if isinstance(exclude, str) else None,
            )
        if command == "sync":
            return commands.sync(job, catalog, str(options["-id"]), dry_run=dry_run)
        if command == "resume":
            return commands.resume(job, catalog, str(options["-id"]))
        if command == "verify":
            return commands.verify(job, positional[0], positional[1])
        return commands.scan(
            job,
            positional[0],
            long=bool(options.get("-l")),
            quiet=bool(options.get("-q")),
            stats=bool(options.get("-stats")),
        )
    except (CatalogError, XcpPathError) as exc:
        return commands.fail(str(exc))


def entry_point() -> None:
    """Console script entry: exit with :func:`main`'s status."""
    sys.exit(main())


if __name__ == "__main__":
    entry_point()
