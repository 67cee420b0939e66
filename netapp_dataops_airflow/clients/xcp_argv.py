"""The xcp command line a task may run: validated parameters in, an argv list out, shell-quoted.

The argv is sent to a shell on the XCP host, so every element is quoted with :func:`shlex.quote`;
on top of that, paths, index names and options are checked strictly before anything runs, so a
``;``, ``$()``, a backtick, a quote, a blank, a newline or a ``-`` at the start is an error naming
the parameter, not a surprise on the host. Options the library does not know go in ``extra_args``,
an explicit list, each element quoted as it is.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from netapp_dataops_airflow.clients._values import whole_number
from netapp_dataops_airflow.exceptions import InvalidInputError

OPERATIONS = ("copy", "sync", "resume", "verify")
# XCP's -parallel: at most 61 batch processes (its documented default is 7).
MAX_PARALLEL = 61
# server:/export[/path] (server::/export when the export holds a colon). Server: a host name or
# IPv4 address; path: letters, digits and ._+@,=%~/:- only (no blanks, quotes or shell syntax).
_SERVER = r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?"
_PATH_CHARACTERS = r"[A-Za-z0-9._+@,=%~/:-]"
_NFS_PATH = re.compile(rf"(?P<server>{_SERVER})(?P<separator>::?)(?P<path>/{_PATH_CHARACTERS}*)", re.ASCII)
_ALLOWED_PATH_CHARACTER = re.compile(_PATH_CHARACTERS, re.ASCII)
# XCP index names; the catalog keeps them as directory names.
INDEX_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,179}", re.ASCII)
# Options the library sets itself; extra_args must not repeat them.
_OWN_OPTIONS = frozenset({"-newid", "-id", "-parallel", "-exclude"})


def check_nfs_path(value: Any, name: str) -> str:
    """Return ``value`` if it is an NFS path ``server:/export[/path]`` XCP accepts; otherwise raise."""
    wanted = f"{name} must be an XCP NFS path server:/export[/path]"
    if not isinstance(value, str) or not value:
        raise InvalidInputError(f"{wanted}, got {value!r}")
    match = _NFS_PATH.fullmatch(value)
    if match is None:
        bad = next(
            (c for c in value if not (c.isalnum() and c.isascii()) and not _ALLOWED_PATH_CHARACTER.match(c)),
            None,
        )
        why = f": {bad!r} is not allowed (letters, digits and ._+@,=%~/:- only)" if bad is not None else ""
        raise InvalidInputError(f"{wanted}, got {value!r}{why}")
    if ".." in match.group("path").split("/"):
        raise InvalidInputError(f"{wanted} without '..' components, got {value!r}")
    return value


def check_index_name(value: Any, name: str = "index") -> str:
    """Return ``value`` if it is an XCP index name (letters, digits, ``_.-``, at most 180); else raise."""
    if not isinstance(value, str) or not INDEX_NAME.fullmatch(value):
        raise InvalidInputError(
            f"{name} must be an XCP index name: 1 to 180 letters, digits, '_', '.' or '-', not starting "
            f"with '-', '_' or '.', got {value!r}"
        )
    return value


def check_extra_args(value: Any) -> tuple[str, ...]:
    """Return ``extra_args`` as a tuple of plain text arguments; otherwise raise."""
    if value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise InvalidInputError(
            f"extra_args must be a list of xcp arguments such as ['-bs', '128k'], got {value!r}"
        )
    arguments = []
    for position, argument in enumerate(value):
        if not isinstance(argument, str) or not argument or not argument.isprintable():
            raise InvalidInputError(
                f"extra_args[{position}] must be non-empty printable text (no newline or control "
                f"character), got {argument!r}"
            )
        if argument in _OWN_OPTIONS:
            raise InvalidInputError(
                f"extra_args[{position}] is {argument}, which the operator sets itself; use its "
                "index, parallel or exclude parameter instead"
            )
        arguments.append(argument)
    return tuple(arguments)


@dataclass(frozen=True)
class XcpCommand:
    """One xcp run, validated: the operation, its paths or index, and its options."""

    operation: str
    source: str | None = None
    target: str | None = None
    index: str | None = None
    parallel: int | None = None
    exclude: str | None = None
    extra_args: tuple[str, ...] = ()

    @classmethod
    def parse(
        cls,
        operation: Any,
        *,
        source: Any = None,
        target: Any = None,
        index: Any = None,
        parallel: Any = None,
        exclude: Any = None,
        extra_args: Any = None,
    ) -> XcpCommand:
        """Validate the parameters of one run; the error names the parameter and the bad value."""
        if operation not in OPERATIONS:
            raise InvalidInputError(f"operation must be one of {', '.join(OPERATIONS)}, got {operation!r}")
        paths = operation in ("copy", "verify")
        if paths:
            source = check_nfs_path(source, "source")
            target = check_nfs_path(target, "target")
        elif source is not None or target is not None:
            raise InvalidInputError(
                f"{operation} takes no source or target: it reads them from the index; give index only"
            )
        if operation in ("copy", "sync", "resume"):
            index = check_index_name(index)
        elif index is not None:
            raise InvalidInputError(f"{operation} takes no index, got index={index!r}")
        if parallel is not None:
            parallel = whole_number(parallel, "parallel", minimum=1, maximum=MAX_PARALLEL)
        if exclude is not None and (
            not isinstance(exclude, str) or not exclude.strip() or not exclude.isprintable()
        ):
            raise InvalidInputError(
                f"exclude must be an XCP filter such as \"fnm('*.tmp')\" on one line, got {exclude!r}"
            )
        if exclude is not None and operation not in ("copy", "verify", "sync"):
            raise InvalidInputError(f"{operation} takes no exclude filter")
        return cls(operation, source, target, index, parallel, exclude, check_extra_args(extra_args))

    def argv(self) -> list[str]:
        """Return the arguments after ``xcp``, in XCP's order: options first, then the paths."""
        words = [self.operation]
        if self.index is not None:
            words += ["-newid" if self.operation == "copy" else "-id", self.index]
        if self.parallel is not None:
            words += ["-parallel", str(self.parallel)]
        if self.exclude is not None:
            words += ["-exclude", self.exclude]
        words += self.extra_args
        if self.source is not None and self.target is not None:
            words += [self.source, self.target]
        return words


def quoted(argv: Sequence[str]) -> str:
    """Join an argv into one shell command line, every element quoted."""
    return " ".join(shlex.quote(word) for word in argv)
