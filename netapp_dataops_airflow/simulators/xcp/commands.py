"""The xcp commands: copy, resume, sync (and sync dry-run), verify, scan.

Files are really copied (data, mode and mtime); ``sync`` copies what changed by size and mtime
since the index, and removes what was removed from the source. A ``copy`` may be made to fail
part-way (``fail_after_files``), leaving an index ``resume`` finishes.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shutil
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from netapp_dataops_airflow.simulators.xcp import report
from netapp_dataops_airflow.simulators.xcp.catalog import Catalog, CatalogError, Index
from netapp_dataops_airflow.simulators.xcp.job import Job
from netapp_dataops_airflow.simulators.xcp.paths import XcpPathError, existing

CHUNK = 64 * 1024
_FNM = re.compile(r"""fnm\((['"])(.*)\1\)""")


class PartWayFailure(Exception):
    """The simulated failure of a copy part-way (``fail_after_files``)."""


@dataclass(frozen=True)
class Entry:
    """A file or directory of the source tree, relative to its top."""

    relative: str
    is_dir: bool
    size: int
    mtime_ns: int


def excluded(relative: str, pattern: str | None) -> bool:
    """Whether ``-exclude`` drops the entry: ``fnm('*.tmp')`` or a bare glob, on name or path."""
    if not pattern:
        return False
    match = _FNM.fullmatch(pattern.strip())
    glob = match.group(2) if match else pattern
    return fnmatch.fnmatch(relative, glob) or fnmatch.fnmatch(os.path.basename(relative), glob)


def walk(top: Path, job: Job, exclude: str | None) -> Iterator[Entry]:
    """Yield the tree under ``top`` in a stable order, counting each entry as scanned."""
    job.add("scanned")  # the top itself
    for directory, dirs, files in os.walk(top):
        dirs.sort()
        base = Path(directory)
        for name in [*dirs, *sorted(files)]:
            path = base / name
            relative = str(path.relative_to(top))
            if excluded(relative, exclude):
                if name in dirs:
                    dirs.remove(name)
                continue
            job.add("scanned")
            stat = path.lstat()
            yield Entry(relative, path.is_dir(), stat.st_size, stat.st_mtime_ns)


def copy_file(source: Path, target: Path, job: Job) -> None:
    """Copy data, mode and times, at the configured speed."""
    target.parent.mkdir(parents=True, exist_ok=True)
    speed = job.config.bytes_per_second
    chunk = CHUNK if speed <= 0 else max(1, min(CHUNK, speed // 10))
    with open(source, "rb") as reader, open(target, "wb") as writer:
        while block := reader.read(chunk):
            writer.write(block)
            job.moved(len(block))
            if speed > 0:
                time.sleep(len(block) / speed)
    shutil.copystat(source, target)


def _transfer(
    job: Job,
    catalog: Catalog,
    index: Index,
    source: Path,
    target: Path,
    *,
    fail_after: int | None,
    exclude: str | None = None,
) -> None:
    """Copy every source entry the index lacks or that differs from it, journalling each file."""
    copied_files = 0
    with catalog.journal(index.name) as journal:
        for entry in walk(source, job, exclude):
            destination = target / entry.relative
            if entry.is_dir:
                if not destination.is_dir():
                    destination.mkdir(parents=True, exist_ok=True)
                    job.add("copied")
                continue
            if index.files.get(entry.relative) == [entry.size, entry.mtime_ns] and destination.exists():
                continue
            if fail_after is not None and copied_files >= fail_after:
                raise PartWayFailure(
                    f"xcp: ERROR: batch 1: Could not connect to node: {index.target} "
                    f"(simulated failure after {copied_files} files)"
                )
            copy_file(source / entry.relative, destination, job)
            index.files[entry.relative] = [entry.size, entry.mtime_ns]
            journal.write(json.dumps([entry.relative, entry.size, entry.mtime_ns]) + "\n")
            copied_files += 1
            job.add("copied")


def copy(job: Job, catalog: Catalog, src: str, dst: str, newid: str | None, exclude: str | None) -> int:
    """``xcp copy [-newid NAME] SRC DST``."""
    root = job.config.root
    _, source = existing(src, root)
    _, target = existing(dst, root)
    name = newid
    if name is None:
        name = f"XCP_copy_{job.job_id.removeprefix('Job_').removesuffix('_copy')}"
        job.say(f"xcp: WARNING: No index name has been specified, creating one with name: {name}")
    index = Index(name=name, source=src, target=dst)
    catalog.create(index)
    job.say(f"Job ID: {job.job_id}")
    job.start_progress(["scanned", "copied"])
    passed = True
    try:
        _transfer(
            job, catalog, index, source, target, fail_after=job.config.fail_after_files, exclude=exclude
        )
    except PartWayFailure as failure:
        job.error(str(failure))
        job.add("error")
        passed = False
    else:
        index.complete = True
        catalog.save(index)
    counts = report.counts_line(
        [
            (job.counters.get("scanned", 0), "scanned"),
            (0, "matched"),
            (job.counters.get("copied", 0), "copied"),
            (job.counters.get("error", 0), "error"),
        ]
    )
    return job.finish(counts, passed=passed, migration_id=name)


def resume(job: Job, catalog: Catalog, name: str) -> int:
    """``xcp resume -id NAME``: finish an interrupted copy."""
    index = catalog.load(name)
    job.say(f"Job ID: {job.job_id}")
    job.say(f"xcp: Index: {{source: {index.source}, target: {index.target}}}")
    if index.complete:
        job.say(f"xcp: resume '{name}': the copy had completed; nothing to resume")
    carried = len(index.files)
    root = job.config.root
    _, source = existing(index.source, root)
    _, target = existing(index.target, root)
    job.start_progress(["scanned", "copied"])
    _transfer(job, catalog, index, source, target, fail_after=None)
    index.complete = True
    catalog.save(index)
    # resume marks the counters carried over from the interrupted copy with "*".
    scanned = report.count(job.counters.get("scanned", 0))
    copied = report.count(job.counters.get("copied", 0) + carried)
    counts = f"{scanned} scanned*, {copied} copied*, 0 modification, 0 new item, 0 delete item, 0 error"
    return job.finish(counts, passed=True, migration_id=name)


def sync(job: Job, catalog: Catalog, name: str, *, dry_run: bool) -> int:
    """``xcp sync [dry-run] -id NAME``: apply what changed in the source since the index."""
    index = catalog.load(name)
    if not index.complete:
        job.error(f"xcp: ERROR: index '{name}' is from an incomplete copy; run 'xcp resume -id {name}' first")
        return 1
    with catalog.sync_lock():
        job.say(f"Job ID: {job.job_id}")
        job.say(f"xcp: Index: {{source: {index.source}, target: {index.target}}}")
        root = job.config.root
        _, source = existing(index.source, root)
        _, target = existing(index.target, root)
        job.start_progress(["scanned", "copied", "modification", "new item", "delete item"])
        seen: set[str] = set()
        with catalog.journal(index.name) as journal:
            for entry in walk(source, job, None):
                seen.add(entry.relative)
                destination = target / entry.relative
                if entry.is_dir:
                    if not destination.is_dir():
                        job.add("new item")
                        if not dry_run:
                            destination.mkdir(parents=True, exist_ok=True)
                            job.add("copied")
                    continue
                before = index.files.get(entry.relative)
                if before == [entry.size, entry.mtime_ns]:
                    continue
                job.add("modification" if before is not None else "new item")
                if not dry_run:
                    copy_file(source / entry.relative, destination, job)
                    index.files[entry.relative] = [entry.size, entry.mtime_ns]
                    journal.write(json.dumps([entry.relative, entry.size, entry.mtime_ns]) + "\n")
                    job.add("copied")
            for gone in sorted(set(index.files) - seen, reverse=True):
                job.add("delete item")
                if not dry_run:
                    (target / gone).unlink(missing_ok=True)
                    del index.files[gone]
            if not dry_run:
                for directory, _dirs, _files in os.walk(target, topdown=False):
                    relative = str(Path(directory).relative_to(target))
                    if relative != "." and relative not in seen:
                        shutil.rmtree(directory, ignore_errors=True)
                        job.add("delete item")
        if not dry_run:
            catalog.save(index)
        counts = report.counts_line(
            [(job.counters.get(word, 0), word) for word in ("scanned", "copied", "modification")]
            + [(job.counters.get(word, 0), word) for word in ("new item", "delete item", "error")]
        )
        return job.finish(counts, passed=True, migration_id=name)


def verify(job: Job, src: str, dst: str) -> int:
    """``xcp verify SRC DST``: compare data and sizes of every file."""
    root = job.config.root
    _, source = existing(src, root)
    _, target = existing(dst, root)
    job.say(f"Job ID: {job.job_id}")
    job.start_progress(["scanned", "compared"])
    found = have_data = different = 0
    total = 0
    for entry in walk(source, job, None):
        total += 1
        other = target / entry.relative
        if not other.exists():
            different += 1
            continue
        found += 1
        if entry.is_dir:
            continue
        have_data += 1
        job.add("compared")
        if other.stat().st_size != entry.size or not _same_data(source / entry.relative, other, job):
            different += 1
    percent_found = 100 if total == 0 else found * 100 // total
    percent_same = 100 - different * 100 // max(total, 1)
    counts = (
        f"{report.count(job.counters.get('scanned', 0))} scanned, 0 matched, {percent_found}% found "
        f"({report.count(have_data)} have data), {percent_same}% "
        f"verified (data, attrs, mods), {report.count(different)} different item, 0 error"
    )
    return job.finish(counts, passed=different == 0)


def _same_data(left: Path, right: Path, job: Job) -> bool:
    with open(left, "rb") as a, open(right, "rb") as b:
        while True:
            block_a, block_b = a.read(CHUNK), b.read(CHUNK)
            job.moved(len(block_a))
            if block_a != block_b:
                return False
            if not block_a:
                return True


def scan(job: Job, src: str, *, long: bool, quiet: bool, stats: bool) -> int:
    """``xcp scan [-l|-q|-stats] SRC``: list the tree on stdout."""
    _, source = existing(src, job.config.root)
    files = directories = 0
    total = 0
    for entry in walk(source, job, None):
        if entry.is_dir:
            directories += 1
        else:
            files += 1
            total += entry.size
        if not quiet and not stats:
            line = f"{src.rstrip('/')}/{entry.relative}"
            if long:
                kind = "d" if entry.is_dir else "f"
                line = f"{kind} {report.size(entry.size):>10} {line}"
            print(line, flush=True)
    if stats:
        print(
            f"{report.count(files)} files, {report.count(directories)} dirs, {report.size(total)}", flush=True
        )
    counts = report.counts_line([(job.counters.get("scanned", 0), "scanned")])
    return job.finish(counts, passed=True)


def fail(message: str) -> int:
    """Print an XCP error line on stderr; exit status 1."""
    print(message, file=sys.stderr, flush=True)
    return 1


__all__ = ["CatalogError", "XcpPathError", "copy", "fail", "resume", "scan", "sync", "verify"]
