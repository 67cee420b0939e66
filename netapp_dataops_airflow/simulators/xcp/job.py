"""One xcp run: its job id, log file, counters, progress lines and summary block."""

from __future__ import annotations

import datetime
import os
import sys
import threading
import time
from collections.abc import Sequence

from netapp_dataops_airflow.simulators.xcp import report
from netapp_dataops_airflow.simulators.xcp.config import XcpConfig


class Job:
    """Counters of a run, printed every ``progress_interval`` seconds and in the summary."""

    def __init__(self, config: XcpConfig, command: str, argv: Sequence[str]) -> None:
        self.config = config
        self.command = command
        self.argv = list(argv)
        now = datetime.datetime.now()
        self.job_id = f"Job_{now:%Y-%m-%d_%H.%M.%S.%f}_{command}"
        log_dir = config.log_dir()
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = log_dir / f"{self.job_id}.log"
        self.started = time.monotonic()
        self.counters: dict[str, int] = {}
        self.bytes_in = 0
        self.bytes_out = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._progress: threading.Thread | None = None
        self.log(f"xcp {' '.join(self.argv)}")

    def add(self, counter: str, amount: int = 1) -> None:
        """Count ``amount`` more of ``counter`` (``scanned``, ``copied``, ...)."""
        with self._lock:
            self.counters[counter] = self.counters.get(counter, 0) + amount

    def moved(self, amount: int) -> None:
        """Count bytes read from the source and written to the target."""
        with self._lock:
            self.bytes_in += amount
            self.bytes_out += amount

    def log(self, message: str, level: str = "INFO") -> None:
        """Append a line to the job's log, in XCP's log line format."""
        stamp = datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S,%f")[:-3]
        with open(self.log_path, "a") as stream:
            stream.write(f"{stamp} - {level} - {os.getpid()} xcp xcp {message}\n")

    def say(self, line: str) -> None:
        """Print a line on stderr (XCP's stream for progress and summary) and log it."""
        print(line, file=sys.stderr, flush=True)
        self.log(line)

    def error(self, message: str) -> None:
        """Print an ``xcp: ERROR`` line."""
        print(message, file=sys.stderr, flush=True)
        self.log(message, "ERROR")

    @property
    def elapsed(self) -> float:
        """Seconds since the run started."""
        return time.monotonic() - self.started

    def start_progress(self, words: Sequence[str]) -> None:
        """Print a progress line every ``progress_interval`` seconds until :meth:`finish`."""

        def run() -> None:
            while not self._stop.wait(self.config.progress_interval):
                self.say(self.progress_line(words))

        self._progress = threading.Thread(target=run, daemon=True)
        self._progress.start()

    def progress_line(self, words: Sequence[str]) -> str:
        """``5 scanned, 3 copied, 1.50 KiB in (300/s), 1.50 KiB out (300/s), 5s``."""
        with self._lock:
            counts = report.counts_line([(self.counters.get(word, 0), word) for word in words])
            traffic = report.traffic(self.bytes_in, self.bytes_out, self.elapsed)
        return f"{counts}, {traffic}, {report.duration(self.elapsed)}"

    def finish(self, counts: str, *, passed: bool, migration_id: str | None = None) -> int:
        """Stop the progress lines, print the summary block; return the exit status (0 or 1)."""
        self._stop.set()
        if self._progress is not None:
            self._progress.join()
        for line in report.summary(
            self.argv,
            counts,
            self.bytes_in,
            self.bytes_out,
            self.elapsed,
            passed=passed,
            migration_id=migration_id,
            job_id=self.job_id,
            log_path=str(self.log_path),
        ):
            self.say(line)
        return 0 if passed else 1
