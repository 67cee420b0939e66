"""What every hook here shares: reading an Airflow connection, on a worker or in a trigger, strictly.

A hook reads its connection synchronously on a worker and with Airflow's async connection API in
the triggerer (so the triggerer's event loop never blocks), then checks it the same way everywhere:

- the connection must exist (a missing one is an :class:`InvalidInputError` naming it) and be of the
  hook's type (an ONTAP connection given as ``kubernetes_conn_id`` is an error, not a puzzle later);
- the extras must be a JSON object of known fields. A misspelt field is an error naming it and the
  fields the type knows: silently ignoring ``kubeconfig_path`` would send the work to another cluster.
  Fields are also read with the legacy ``extra__<type>__`` prefix older Airflow UIs wrote;
- on/off extras go through :func:`~netapp_dataops_airflow.clients._values.flag`, so ``"flase"`` is
  an error rather than a guess.

Messages name the connection and the field, never a value that could be a secret.
"""

from __future__ import annotations

import asyncio
import contextvars
import difflib
import json
import weakref
from collections.abc import Callable, Collection, Coroutine, Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

from airflow.providers.common.compat.connection import get_async_connection
from airflow.sdk import BaseHook
from airflow.sdk.exceptions import AirflowNotFoundException
from asgiref.sync import sync_to_async

from netapp_dataops_airflow.clients._values import flag
from netapp_dataops_airflow.exceptions import InvalidInputError

S = TypeVar("S")
T = TypeVar("T")

# Lookups in flight per event loop, by what they read: see shared_lookup.
_IN_FLIGHT: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[Hashable, asyncio.Task[Any]]] = (
    weakref.WeakKeyDictionary()
)


async def shared_lookup(key: Hashable, read: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run ``read()``, or join the same lookup (same ``key``) already in flight in this event loop.

    Airflow reads a connection in a worker thread; a triggerer starting a thousand waits on one
    connection would hop to a thread a thousand times, and each hop costs the loop the GIL. Waits
    that start while a lookup runs take its answer (or its error) instead: nothing is cached, so a
    lookup that starts after it finished reads the connection afresh. The lookup runs in an empty
    ``contextvars`` context (it belongs to no single task's log) and is not cancelled with one waiter.
    """
    loop = asyncio.get_running_loop()
    pending = _IN_FLIGHT.setdefault(loop, {})
    task = pending.get(key)
    if task is None:
        task = contextvars.Context().run(loop.create_task, read())
        pending[key] = task

        def forget(done: asyncio.Task[Any]) -> None:
            if pending.get(key) is done:
                del pending[key]

        task.add_done_callback(forget)
    result: T = await asyncio.shield(task)
    return result


async def _extra_dejson(conn: Any) -> Any:
    """Read the connection's extras without blocking the event loop.

    ``extra_dejson`` masks secrets with a synchronous call to Airflow's supervisor, which must not
    run on the triggerer's loop: Airflow 3.3.2 has ``aextra_dejson`` for that; before it, read in a
    thread. (``get_async_extra_dejson`` of common-compat does the same, but only from 1.21, which
    needs Python 3.11.)
    """
    if hasattr(conn, "aextra_dejson"):
        return await conn.aextra_dejson()
    return await sync_to_async(lambda: conn.extra_dejson)()


class Extras:
    """A connection's extras, checked against the fields its type knows.

    :param conn_id: the connection, for messages.
    :param conn_type: its type; also the legacy prefix ``extra__<conn_type>__``.
    :param extras: the extras as Airflow decoded them.
    :param known: every field the type accepts (including ones this library ignores).
    """

    def __init__(self, conn_id: str, conn_type: str, extras: Any, known: Collection[str]) -> None:
        self.conn_id = conn_id
        self.name = f"connection {conn_id!r}"
        prefix = f"extra__{conn_type}__"
        if not isinstance(extras, Mapping):
            raise InvalidInputError(f"{self.name}: 'extra' must be a JSON object of fields")
        unknown = sorted(str(key) for key in extras if str(key).removeprefix(prefix) not in known)
        if unknown:
            raise InvalidInputError(_unknown_fields(self.name, conn_type, prefix, unknown, known))
        self._values: dict[str, Any] = {}
        # The plain name wins over the legacy prefixed one; an empty value counts as unset.
        for key in sorted(extras, key=lambda key: str(key).startswith(prefix), reverse=True):
            value = extras[key]
            if not _empty(value):
                self._values[str(key).removeprefix(prefix)] = value

    def get(self, key: str) -> Any:
        """Return the field's value; ``None`` when it is unset or empty."""
        return self._values.get(key)

    def is_set(self, key: str) -> bool:
        """Whether the field holds a value (an empty string does not count)."""
        return key in self._values

    def text(self, key: str) -> str | None:
        """Return a text field, stripped; anything but text is an error (the value is not shown)."""
        value = self.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise InvalidInputError(f"{self.name}: '{key}' must be text, got a {_json_type(value)}")
        return value.strip()

    def flag(self, key: str, *, default: bool) -> bool:
        """Return an on/off field; unset means ``default``, anything but a clear true/false raises."""
        return flag(self.get(key), f"{self.name}: '{key}'", default=default)


@dataclass(frozen=True)
class ConnectionFields:
    """An Airflow connection as a hook reads it, type already checked; the password stays out of reprs."""

    conn_id: str
    conn_type: str
    host: str | None
    port: int | None
    login: str | None
    password: str | None = field(repr=False)
    schema: str | None
    extras: Any = field(repr=False)  # a JSON object, if the connection is right; checked by Extras


class NetAppHook(BaseHook, Generic[S]):
    """Base of the hooks: read the connection on a worker or in a trigger, check it, build settings.

    Subclasses set ``conn_type``, ``conn_name_attr`` (the attribute holding the connection id) and
    ``default_conn_name``, and implement :meth:`settings`.
    """

    conn_type: ClassVar[str]
    conn_name_attr: ClassVar[str]
    #: Other connection types read the same way (``http``, as NetApp's DataOps Toolkit examples use).
    also_accepted_conn_types: ClassVar[frozenset[str]] = frozenset()

    @property
    def conn_id(self) -> str:
        """The connection this hook reads."""
        return str(getattr(self, self.conn_name_attr))

    def settings(self, connection: ConnectionFields) -> S:
        """Validate the connection's fields into the hook's settings."""
        raise NotImplementedError

    def get_connection_settings(self) -> S:
        """Read and validate the connection (on a worker)."""
        try:
            conn = self.get_connection(self.conn_id)
        except AirflowNotFoundException:
            raise InvalidInputError(self._undefined()) from None
        return self.settings(self._fields(conn, conn.extra_dejson))

    async def aget_connection_settings(self) -> S:
        """Read and validate the connection without blocking the event loop (in a trigger).

        Triggers that start together share one lookup of the same connection (:func:`shared_lookup`).
        """
        return await shared_lookup(("connection", type(self), self.conn_id), self._aread_settings)

    async def _aread_settings(self) -> S:
        try:
            conn = await get_async_connection(self.conn_id, hook=self)
        except AirflowNotFoundException:
            raise InvalidInputError(self._undefined()) from None
        return self.settings(self._fields(conn, await _extra_dejson(conn)))

    def _fields(self, conn: Any, extras: Any) -> ConnectionFields:
        name = f"connection {self.conn_id!r}"
        if conn.conn_type != self.conn_type and conn.conn_type not in self.also_accepted_conn_types:
            found = f"is of type {conn.conn_type!r}" if conn.conn_type else "has no type"
            raise InvalidInputError(
                f"{name} {found}, but {self.conn_name_attr} needs a {self.conn_type!r} connection; "
                f"give the id of a {self.conn_type} connection"
            )
        if conn.extra and not extras:
            # Airflow logs undecodable extras and returns {}: that would read as "nothing configured".
            try:
                json.loads(conn.extra)
            except ValueError:
                raise InvalidInputError(f"{name}: 'extra' is not valid JSON") from None
        return ConnectionFields(
            conn_id=self.conn_id,
            conn_type=conn.conn_type,
            host=conn.host,
            port=conn.port,
            login=conn.login,
            password=conn.password,
            schema=conn.schema,
            extras=extras,
        )

    def _undefined(self) -> str:
        return (
            f"connection {self.conn_id!r} is not defined; create a {self.conn_type} connection with that "
            "id where the workers and the triggerer can read it"
        )


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, Mapping):
        return "JSON object"
    if isinstance(value, (list, tuple)):
        return "JSON list"
    return type(value).__name__


def _unknown_fields(
    name: str, conn_type: str, prefix: str, unknown: list[str], known: Collection[str]
) -> str:
    hints = []
    for key in unknown:
        close = difflib.get_close_matches(key.removeprefix(prefix), sorted(known), n=1)
        hints.append(f"{key!r} (did you mean {close[0]!r}?)" if close else repr(key))
    noun = "field" if len(unknown) == 1 else "fields"
    return (
        f"{name}: unknown extra {noun} {', '.join(hints)}; {conn_type} connections know "
        f"{', '.join(sorted(known))}"
    )
