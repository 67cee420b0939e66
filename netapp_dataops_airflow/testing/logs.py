"""Every log event of a DAG run, as ``dag.test()`` emits them: Airflow's, tasks', triggers', libraries'."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import sys
import traceback
from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any


@dataclasses.dataclass(frozen=True)
class LogLine:
    """One log event of a DAG run: Airflow's own, a task's, a trigger's or any library's."""

    level: str
    logger: str
    message: str  # formatted; an exception logged with it is appended as ``\nType: message``

    def __str__(self) -> str:
        return f"{self.level} {self.logger}: {self.message}"


@contextlib.contextmanager
def captured_logs() -> Iterator[list[LogLine]]:
    """Collect every log event while active, formatted, and still let Airflow print it.

    Airflow 3 logs through structlog, straight to a stream, so ``caplog`` sees none of the task logs
    and ``capsys`` only some (its ``logging`` handler keeps the stream it found at start-up). A
    structlog processor put before the renderer sees each event formatted (secrets are not masked
    under ``dag.test()``); a root handler sees what libraries log through ``logging``.
    """
    import structlog

    lines: list[LogLine] = []

    def record(_logger: object, method_name: str, event: MutableMapping[str, Any]) -> Mapping[str, Any]:
        exc_info = event.get("exc_info") or event.get("exception")
        message = _with_exception(str(event.get("event", "")), exc_info)
        lines.append(LogLine(str(event.get("level", method_name)), str(event.get("logger", "")), message))
        return event

    class Handler(logging.Handler):
        def emit(self, log_record: logging.LogRecord) -> None:
            message = _with_exception(log_record.getMessage(), log_record.exc_info)
            lines.append(LogLine(log_record.levelname.lower(), log_record.name, message))

    processors = structlog.get_config()["processors"]  # the live list every logger uses
    processors.insert(max(len(processors) - 1, 0), record)
    handler = Handler()
    logging.getLogger().addHandler(handler)
    try:
        yield lines
    finally:
        logging.getLogger().removeHandler(handler)
        with contextlib.suppress(ValueError):
            processors.remove(record)


def _with_exception(message: str, exc_info: object) -> str:
    """Append ``Type: message`` of a logged exception (``exc_info`` as logging/structlog pass it)."""
    if exc_info is True:
        exc_info = sys.exc_info()
    if isinstance(exc_info, tuple) and len(exc_info) == 3:
        exc_info = exc_info[1]
    if not isinstance(exc_info, BaseException):
        return message
    return message + "\n" + "".join(traceback.format_exception_only(type(exc_info), exc_info)).rstrip()
