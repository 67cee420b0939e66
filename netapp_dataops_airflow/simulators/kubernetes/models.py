"""The object store: what kube-apiserver and etcd keep, with no HTTP in sight.

One global, monotonically increasing resourceVersion orders every change; a bounded history of
changes lets watches resume; open watches get their events through asyncio queues (thread-safe, so
tests may drive the backend from another thread than the server's loop).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import threading
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

from . import kinds, patching
from .admission import admit_create
from .errors import (
    ApiError,
    Cause,
    GoLiteral,
    already_exists,
    bad_request,
    conflict,
    expired,
    invalid,
    namespace_not_found,
    not_found,
    unsupported_media_type,
)
from .faults import Faults
from .kinds import Kind
from .meta import JSON, deep, finalizers, generate_name, metadata, new_uid, now
from .pod_deletion import deletion_timestamp, grace_seconds
from .seed import default_objects
from .selectors import FieldSelector, LabelSelector
from .stats import ServerStats
from .timing import Timing
from .tokens import Tokens
from .validation import validate
from .workloads import PodRuntime

DEFAULT_HISTORY = 1000
Key = tuple[str, str]  # (namespace or "", name)

# Server-managed metadata a client write cannot change.
_SYSTEM_META = (
    "uid",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "generation",
    "name",
    "namespace",
    "generateName",
)


@dataclass(frozen=True)
class Change:
    """One committed change: the event type, the object after it and before it."""

    rv: int
    type: str  # ADDED, MODIFIED, DELETED
    kind: Kind
    obj: JSON
    old: JSON | None


@dataclass(eq=False)
class Watcher:
    """An open watch: what it selects and the queue its stream reads (None = end the stream)."""

    kind: Kind
    namespace: str | None
    labels: LabelSelector
    fields: FieldSelector
    loop: asyncio.AbstractEventLoop
    # Events, PROGRESS markers (a change this watch does not see, for bookmarks) or None (end).
    queue: asyncio.Queue[tuple[str, JSON] | None] = field(default_factory=asyncio.Queue)
    start_rv: int = 0

    def translate(self, change: Change) -> tuple[str, JSON] | None:
        """Return the event this watch sees for ``change`` (selector transitions included), if any."""
        if change.kind is not self.kind:
            return None
        if self.namespace is not None and metadata(change.obj).get("namespace") != self.namespace:
            return None
        now_in = change.type != "DELETED" and self._selects(change.obj)
        was_in = self._selects(change.old) if change.type != "ADDED" else False
        if change.type == "DELETED":
            return ("DELETED", change.obj) if self._selects(change.obj) else None
        if now_in:
            return ("MODIFIED" if was_in else "ADDED", change.obj)
        return ("DELETED", change.obj) if was_in else None

    def _selects(self, obj: JSON | None) -> bool:
        return (
            obj is not None and self.labels.matches(metadata(obj).get("labels")) and self.fields.matches(obj)
        )

    def push(self, item: tuple[str, JSON] | None) -> None:
        """Hand an event (or the end marker) to the stream, from any thread."""
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody reads this watch any more
            self.loop.call_soon_threadsafe(self.queue.put_nowait, item)


def _bump_generation(updated: JSON, current: JSON) -> None:
    # metadata.generation counts changes of the desired state: anything but metadata and status.
    def content(obj: JSON) -> JSON:
        return {k: v for k, v in obj.items() if k not in ("metadata", "status")}

    if content(updated) != content(current):
        metadata(updated)["generation"] = metadata(current).get("generation", 1) + 1


def _removable(obj: JSON) -> bool:
    # Marked for deletion, no finalizer left, and no grace period running (a pod still stopping stays).
    meta = metadata(obj)
    return (
        bool(meta.get("deletionTimestamp"))
        and not finalizers(obj)
        and not meta.get("deletionGracePeriodSeconds")
    )


class KubernetesBackend:
    """Everything a cluster stores, with the apiserver's verbs and rules.

    Methods raise :class:`~.errors.ApiError` exactly when the real apiserver answers an error.
    """

    def __init__(self, *, history_size: int = DEFAULT_HISTORY) -> None:
        self._lock = threading.RLock()
        self._rv = 0
        self._compacted = 0  # changes with rv <= this are no longer in the history
        self._history: deque[Change] = deque(maxlen=history_size)
        self._store: dict[Kind, dict[Key, JSON]] = {k: {} for k in kinds.KINDS}
        self._watchers: set[Watcher] = set()
        self._listeners: list[Callable[[], None]] = []
        # Secondary indexes: (kind, name) -> (value of an object, {value: keys of the objects with it}).
        self._indexes: dict[
            tuple[Kind, str], tuple[Callable[[JSON], Hashable], dict[Hashable, set[Key]]]
        ] = {}
        self.faults = Faults()
        self.timing = Timing()
        self.stats = ServerStats()
        self.tokens = Tokens()
        self.pods = PodRuntime()
        self.reset()

    # -- control -------------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget every object, end open watches, and seed the default cluster contents.

        Faults are cleared and only the starting token is accepted again.
        """
        with self._lock:
            for objects in self._store.values():
                objects.clear()
            for _, entries in self._indexes.values():
                entries.clear()
            self._end_watches()
            self._history.clear()
            self._compacted = self._rv
            self.faults.clear()
            self.tokens.reset()
            self.timing = Timing()
            self.pods = PodRuntime()
            self.stats.clear()
            self.seed(*default_objects())

    def seed(self, *objects: JSON) -> list[JSON]:
        """Store objects as they are (status included), creating namespaces they need."""
        stored = []
        with self._lock:
            for body in objects:
                kind = self._kind_of(body)
                obj = deep(body)
                meta = metadata(obj)
                namespace = meta.get("namespace", "default") if kind.namespaced else ""
                if kind.namespaced and ("", namespace) not in self._store[kinds.NAMESPACES]:
                    namespace_obj = {"metadata": {"name": namespace}, "status": {"phase": "Active"}}
                    self._commit(
                        "ADDED", kinds.NAMESPACES, self._prepare_new(kinds.NAMESPACES, namespace_obj, "")
                    )
                if self._store[kind].get((namespace, meta.get("name", ""))) is not None:
                    raise already_exists(kind, meta.get("name", ""))
                stored.append(
                    self._commit("ADDED", kind, self._prepare_new(kind, obj, namespace, keep_status=True))
                )
        return stored

    def compact(self) -> None:
        """Drop the change history: watches resuming from any earlier version get 410 Expired."""
        with self._lock:
            self._history.clear()
            self._compacted = self._rv

    def expire_watches(self) -> None:
        """Compact the history and end every open watch (clients must relist)."""
        with self._lock:
            self.compact()
            self._end_watches()

    def add_listener(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (from the writing thread) after every change; controllers use it to wake."""
        self._listeners.append(callback)

    def wake_listeners(self) -> None:
        """Call every listener without a change (the timing changed: controllers look again)."""
        for listener in list(self._listeners):
            listener()

    def remove_listener(self, callback: Callable[[], None]) -> None:
        """Stop calling ``callback``."""
        if callback in self._listeners:
            self._listeners.remove(callback)

    def dump(self) -> dict[str, list[JSON]]:
        """Every stored object by plural resource name (for tests and the control API)."""
        with self._lock:
            return {k.plural: [deep(o) for o in self._sorted(k, None)] for k in kinds.KINDS}

    def changes_since(self, resource_version: int) -> list[Change] | None:
        """Return the changes committed after ``resource_version``, oldest first (None: some were lost).

        Controllers use it to look only at what changed since their last pass.
        """
        with self._lock:
            if resource_version < self._compacted:
                return None
            newer = []
            for change in reversed(self._history):  # the newest few, not the whole history
                if change.rv <= resource_version:
                    break
                newer.append(change)
            newer.reverse()
            return newer

    def ensure_index(self, kind: Kind, name: str, value_of: Callable[[JSON], Hashable]) -> None:
        """Keep an index of ``kind`` by ``value_of(object)`` (``None`` values are not indexed).

        Controllers look objects up by a field (Events by involved object, snapshots by content)
        instead of scanning thousands of them on every change. Asking again is harmless.
        """
        with self._lock:
            if (kind, name) in self._indexes:
                return
            entries: dict[Hashable, set[Key]] = {}
            for key, obj in self._store[kind].items():
                value = value_of(obj)
                if value is not None:
                    entries.setdefault(value, set()).add(key)
            self._indexes[(kind, name)] = (value_of, entries)

    def find_by(self, kind: Kind, index: str, value: Hashable) -> list[JSON]:
        """Return copies of the objects of ``kind`` whose ``index`` value is ``value``, sorted."""
        with self._lock:
            keys = self._indexes[(kind, index)][1].get(value, ())
            return [deep(self._store[kind][key]) for key in sorted(keys)]

    def any_by(self, kind: Kind, index: str, value: Hashable, match: Callable[[JSON], bool]) -> bool:
        """Tell whether an object of ``kind`` with ``index`` value ``value`` satisfies ``match`` (no copy)."""
        with self._lock:
            objects = self._store[kind]
            return any(match(objects[key]) for key in self._indexes[(kind, index)][1].get(value, ()))

    def uids(self) -> set[str]:
        """Return the UIDs of every stored object."""
        with self._lock:
            return {metadata(o)["uid"] for objects in self._store.values() for o in objects.values()}

    @property
    def resource_version(self) -> int:
        """The current global resourceVersion."""
        return self._rv

    # -- verbs ---------------------------------------------------------------------------------

    def create(self, kind: Kind, namespace: str | None, body: JSON, *, dry_run: bool = False) -> JSON:
        """POST: admit, validate and store a new object."""
        with self._lock:
            obj = self._decode(kind, body, namespace)
            meta = metadata(obj)
            if not meta.get("name") and meta.get("generateName"):
                meta["name"] = generate_name(meta["generateName"])
            ns = namespace or ""
            self._require_namespace(kind, ns)
            validate(kind, obj)
            if (ns, meta["name"]) in self._store[kind]:
                raise already_exists(kind, meta["name"])
            admit_create(self, kind, obj)
            prepared = self._prepare_new(kind, obj, ns)
            return deep(prepared) if dry_run else self._commit("ADDED", kind, prepared)

    def get(self, kind: Kind, namespace: str | None, name: str) -> JSON:
        """GET one object; 404 when missing."""
        with self._lock:
            return deep(self._current(kind, namespace, name))

    def find(self, kind: Kind, namespace: str | None, name: str) -> JSON | None:
        """Return the object or None (no error), for controllers."""
        with self._lock:
            obj = self._store[kind].get((namespace or "", name))
            return deep(obj) if obj is not None else None

    def list_objects(
        self,
        kind: Kind,
        namespace: str | None,
        labels: LabelSelector | None = None,
        fields: FieldSelector | None = None,
        *,
        limit: int = 0,
        continue_token: str | None = None,
    ) -> tuple[list[JSON], str, str]:
        """LIST: matching objects sorted by namespace and name, the list RV and a continue token."""
        labels, fields = labels or LabelSelector(), fields or FieldSelector()
        with self._lock:
            start: Key = ("", "")
            list_rv = self._rv
            if continue_token:
                list_rv, start = self._decode_continue(continue_token)
            items = [
                o
                for o in self._sorted(kind, namespace)
                if (not continue_token or self._key(o) > start)
                and labels.matches(metadata(o).get("labels"))
                and fields.matches(o)
            ]
            token = ""
            if limit and len(items) > limit:
                items = items[:limit]
                token = self._encode_continue(list_rv, self._key(items[-1]))
            return [deep(o) for o in items], str(self._rv), token

    def update(
        self,
        kind: Kind,
        namespace: str | None,
        name: str,
        body: JSON,
        *,
        subresource: str | None = None,
        dry_run: bool = False,
    ) -> JSON:
        """PUT: replace the object (or its status) with optimistic concurrency."""
        with self._lock:
            obj = self._decode(kind, body, namespace)
            if metadata(obj).get("name", name) != name:
                raise bad_request(
                    f"the name of the object ({metadata(obj)['name']}) does not match the name on the URL "
                    f"({name})"
                )
            current = self._current(kind, namespace, name)
            sent_rv = metadata(obj).get("resourceVersion")
            if not sent_rv and kind.custom:
                raise invalid(
                    kind,
                    name,
                    [
                        Cause(
                            "FieldValueInvalid",
                            "metadata.resourceVersion",
                            "must be specified for an update",
                            GoLiteral("0x0"),
                        )
                    ],
                )
            return self._replace(kind, current, obj, subresource, dry_run=dry_run)

    def patch(
        self,
        kind: Kind,
        namespace: str | None,
        name: str,
        content_type: str,
        body: bytes,
        *,
        subresource: str | None = None,
        dry_run: bool = False,
    ) -> tuple[JSON, bool]:
        """PATCH with any of the four patch types; returns the object and whether apply created it."""
        accepted = patching.CUSTOM_PATCH_TYPES if kind.custom else patching.CORE_PATCH_TYPES
        if content_type not in accepted:
            raise unsupported_media_type(content_type, accepted)
        with self._lock:
            if content_type == patching.APPLY_PATCH:
                config = patching.decode_apply(body)
                existing = self._store[kind].get((namespace or "", name))
                if existing is None and subresource is None:
                    metadata(config).setdefault("name", name)
                    return self.create(kind, namespace, config, dry_run=dry_run), True
                current = self._current(kind, namespace, name)
                return self._replace(
                    kind, current, patching.apply_patch(deep(current), config), subresource, dry_run=dry_run
                ), False
            current = self._current(kind, namespace, name)
            document = patching.decode_json(body)
            if content_type == patching.JSON_PATCH:
                patched = patching.json_patch(deep(current), document)
            elif not isinstance(document, dict):
                raise bad_request("error decoding patch: the patch must be a JSON object")
            elif content_type == patching.MERGE_PATCH:
                patched = patching.merge_patch(deep(current), document)
            else:
                patched = patching.strategic_merge_patch(deep(current), document)
            if not isinstance(patched, dict):
                raise bad_request("the patched object is not a JSON object")
            return self._replace(kind, current, patched, subresource, dry_run=dry_run), False

    def delete(
        self,
        kind: Kind,
        namespace: str | None,
        name: str,
        options: JSON | None = None,
        *,
        dry_run: bool = False,
    ) -> JSON:
        """DELETE: mark for deletion when finalizers remain, otherwise remove; returns the object."""
        with self._lock:
            current = self._current(kind, namespace, name)
            self._check_preconditions(kind, current, (options or {}).get("preconditions") or {})
            if dry_run:
                return deep(current)
            grace = grace_seconds(current, options or {}) if kind is kinds.PODS else None
            if grace is not None:
                return self._delete_gracefully(kind, current, grace)
            if finalizers(current):
                if metadata(current).get("deletionTimestamp"):
                    return deep(current)
                marked = deep(current)
                metadata(marked).update(deletionTimestamp=now(), deletionGracePeriodSeconds=0)
                return self._commit("MODIFIED", kind, marked, current)
            if kind is kinds.NAMESPACES:
                self._delete_namespace_contents(name)
            return self._commit("DELETED", kind, deep(current), current)

    def _delete_gracefully(self, kind: Kind, current: JSON, grace: int) -> JSON:
        # The kubelet stops the pod and removes it; a shorter grace period may cut an earlier one short.
        earlier = metadata(current).get("deletionGracePeriodSeconds")
        if metadata(current).get("deletionTimestamp") and earlier is not None and earlier <= grace:
            return deep(current)
        marked = deep(current)
        metadata(marked).update(deletionTimestamp=deletion_timestamp(grace), deletionGracePeriodSeconds=grace)
        return self._commit("MODIFIED", kind, marked, current)

    def watch(
        self,
        kind: Kind,
        namespace: str | None,
        resource_version: str | None,
        labels: LabelSelector,
        fields: FieldSelector,
        loop: asyncio.AbstractEventLoop,
    ) -> tuple[list[tuple[str, JSON]], Watcher]:
        """Open a watch: the initial events (synthetic ADDEDs or a replay) and the live watcher.

        Raises 410 Expired when ``resource_version`` is older than the history keeps.
        """
        watcher = Watcher(kind, namespace, labels, fields, loop)
        with self._lock:
            if not resource_version or resource_version == "0":
                initial = [("ADDED", deep(o)) for o in self._sorted(kind, namespace) if watcher._selects(o)]
            else:
                since = self._parse_rv(resource_version)
                if since < self._compacted:
                    raise expired(f"too old resource version: {since} ({self._compacted})")
                initial = [e for c in self._history if c.rv > since if (e := watcher.translate(c))]
                initial = [(t, deep(o)) for t, o in initial]
            watcher.start_rv = self._rv
            self._watchers.add(watcher)
        return initial, watcher

    def unwatch(self, watcher: Watcher) -> None:
        """Forget a watch whose stream ended."""
        with self._lock:
            self._watchers.discard(watcher)

    # -- writes for the simulated controllers ---------------------------------------------------

    def mutate(
        self, kind: Kind, namespace: str | None, name: str, change: Callable[[JSON], None]
    ) -> JSON | None:
        """Apply ``change`` to a copy of the object and store it if it differs (no validation).

        Controllers write this way, as they would through the status subresource or an update with
        the latest version. Returns the stored object, or None if it no longer exists. Removing the
        last finalizer of an object being deleted removes the object.
        """
        with self._lock:
            current = self._store[kind].get((namespace or "", name))
            if current is None:
                return None
            updated = deep(current)
            change(updated)
            if updated == current:
                return deep(current)
            if _removable(updated):
                self._commit("DELETED", kind, updated, current)
                return None
            _bump_generation(updated, current)
            return self._commit("MODIFIED", kind, updated, current)

    def insert(self, kind: Kind, body: JSON) -> JSON:
        """Store a new object a controller made (status kept); 409 if the name is taken."""
        with self._lock:
            ns = metadata(body).get("namespace", "") if kind.namespaced else ""
            if (ns, metadata(body)["name"]) in self._store[kind]:
                raise already_exists(kind, metadata(body)["name"])
            return self._commit("ADDED", kind, self._prepare_new(kind, deep(body), ns, keep_status=True))

    def first(self, kind: Kind, namespace: str | None, match: Callable[[JSON], bool]) -> JSON | None:
        """Return a copy of the first object of ``kind`` (in ``namespace``) that ``match`` accepts.

        Only the match is copied: controllers looking for one object among thousands (an Event to
        count up) must not copy them all on every change.
        """
        with self._lock:
            for obj in self._sorted(kind, namespace):
                if match(obj):
                    return deep(obj)
            return None

    def objects(self, kind: Kind, namespace: str | None = None) -> list[JSON]:
        """Every object of ``kind`` (in ``namespace`` if given), sorted, as copies."""
        with self._lock:
            return [deep(o) for o in self._sorted(kind, namespace)]

    # -- internals -----------------------------------------------------------------------------

    @staticmethod
    def _key(obj: JSON) -> Key:
        meta = metadata(obj)
        return (meta.get("namespace", ""), meta.get("name", ""))

    def _sorted(self, kind: Kind, namespace: str | None) -> list[JSON]:
        objects = self._store[kind]
        return [objects[k] for k in sorted(objects) if namespace is None or k[0] == namespace]

    def _current(self, kind: Kind, namespace: str | None, name: str) -> JSON:
        obj = self._store[kind].get((namespace or "", name))
        if obj is None:
            raise not_found(kind, name)
        return obj

    def _kind_of(self, body: JSON) -> Kind:
        kind = kinds.by_kind(str(body.get("apiVersion", "")), str(body.get("kind", "")))
        if kind is None:
            raise bad_request(
                f"no kind {body.get('kind')!r} is registered for version {body.get('apiVersion')!r}"
            )
        return kind

    def _decode(self, kind: Kind, body: Any, namespace: str | None) -> JSON:
        if not isinstance(body, dict):
            raise bad_request(f"the object provided is unrecognized (must be of type {kind.kind})")
        obj = deep(body)
        api_version = obj.setdefault("apiVersion", kind.api_version)
        if api_version != kind.api_version:
            raise bad_request(
                f"the API version in the data ({api_version}) does not match the expected API version "
                f"({kind.api_version})"
            )
        if obj.setdefault("kind", kind.kind) != kind.kind:
            raise bad_request(f"the object provided is unrecognized (must be of type {kind.kind})")
        meta = metadata(obj)
        if kind.namespaced and meta.get("namespace") not in (None, "", namespace):
            raise bad_request(
                "the namespace of the provided object does not match the namespace sent on the request"
            )
        return obj

    def _require_namespace(self, kind: Kind, namespace: str) -> None:
        if kind.namespaced and ("", namespace) not in self._store[kinds.NAMESPACES]:
            raise namespace_not_found(namespace)

    def _prepare_new(self, kind: Kind, obj: JSON, namespace: str, *, keep_status: bool = False) -> JSON:
        meta = metadata(obj)
        for key in ("resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds"):
            meta.pop(key, None)
        if kind.namespaced:
            meta["namespace"] = namespace
        else:
            meta.pop("namespace", None)
        meta.setdefault("uid", new_uid())
        meta.setdefault("creationTimestamp", now())
        meta["generation"] = 1
        if kind.has_status and not keep_status:
            obj.pop("status", None)
            if not kind.custom:
                obj["status"] = {"phase": "Pending"}
        obj.setdefault("apiVersion", kind.api_version)
        obj.setdefault("kind", kind.kind)
        return obj

    def _replace(
        self, kind: Kind, current: JSON, obj: JSON, subresource: str | None, *, dry_run: bool
    ) -> JSON:
        name = metadata(current)["name"]
        sent_rv = metadata(obj).get("resourceVersion")
        if sent_rv and sent_rv != metadata(current)["resourceVersion"]:
            raise conflict(kind, name)
        if subresource == "status":
            # /status writes change the status stanza only.
            updated = {k: v for k, v in deep(current).items() if k != "status"}
            if isinstance(obj.get("status"), dict):
                updated["status"] = deep(obj["status"])
        else:
            updated = deep(obj)
            if kind.has_status:
                updated.pop("status", None)
                if "status" in current:
                    updated["status"] = deep(current["status"])
        meta = metadata(updated)
        for key in _SYSTEM_META:
            if key in metadata(current):
                meta[key] = metadata(current)[key]
            else:
                meta.pop(key, None)
        meta["resourceVersion"] = metadata(current)["resourceVersion"]
        new_finalizers = set(finalizers(updated)) - set(finalizers(current))
        if meta.get("deletionTimestamp") and new_finalizers:
            raise invalid(
                kind,
                name,
                [
                    Cause(
                        "FieldValueForbidden",
                        "metadata.finalizers",
                        "no new finalizers can be added if the object is being deleted, found new finalizers "
                        f"[]string{{{', '.join(json.dumps(f) for f in sorted(new_finalizers))}}}",
                    )
                ],
            )
        validate(kind, updated, current)
        _bump_generation(updated, current)
        if dry_run or updated == current:
            return deep(updated)
        if _removable(updated):
            return self._commit("DELETED", kind, updated, current)
        return self._commit("MODIFIED", kind, updated, current)

    def _check_preconditions(self, kind: Kind, current: JSON, preconditions: JSON) -> None:
        meta = metadata(current)
        for field_name, label in (("uid", "UID"), ("resourceVersion", "ResourceVersion")):
            expected = preconditions.get(field_name)
            if expected and expected != meta.get(field_name):
                raise ApiError(
                    409,
                    "Conflict",
                    f"Operation cannot be fulfilled on {kind.qualified} "
                    f'"{meta["name"]}": Precondition failed: {label} in precondition: {expected}, '
                    f"{label} in object meta: {meta.get(field_name)}",
                    {"name": meta["name"], "group": kind.group, "kind": kind.plural},
                )

    def _delete_namespace_contents(self, namespace: str) -> None:
        # Simplified namespace controller: everything in it goes at once, finalizers notwithstanding.
        for kind in kinds.KINDS:
            if kind.namespaced:
                for obj in list(self._sorted(kind, namespace)):
                    self._commit("DELETED", kind, deep(obj), obj)

    def _commit(self, event_type: str, kind: Kind, obj: JSON, old: JSON | None = None) -> JSON:
        self._rv += 1
        metadata(obj)["resourceVersion"] = str(self._rv)
        key = self._key(obj)
        self._reindex(kind, key, self._store[kind].get(key), None if event_type == "DELETED" else obj)
        if event_type == "DELETED":
            self._store[kind].pop(key, None)
        else:
            self._store[kind][key] = obj
        change = Change(self._rv, event_type, kind, deep(obj), deep(old) if old is not None else None)
        if len(self._history) == self._history.maxlen:
            self._compacted = self._history[0].rv
        self._history.append(change)
        if event_type != "DELETED":
            self.stats.committed(kind, obj, old)
        progress = ("PROGRESS", {"metadata": {"resourceVersion": str(self._rv)}})
        for watcher in list(self._watchers):
            event = watcher.translate(change)
            watcher.push((event[0], deep(event[1])) if event is not None else progress)
        for listener in list(self._listeners):
            listener()
        return deep(obj)

    def _reindex(self, kind: Kind, key: Key, before: JSON | None, after: JSON | None) -> None:
        for (indexed, _), (value_of, entries) in self._indexes.items():
            if indexed is not kind:
                continue
            old = value_of(before) if before is not None else None
            new = value_of(after) if after is not None else None
            if old == new:
                continue
            if old is not None:
                entries.get(old, set()).discard(key)
                if not entries.get(old, True):
                    del entries[old]
            if new is not None:
                entries.setdefault(new, set()).add(key)

    def _end_watches(self) -> None:
        for watcher in self._watchers:
            watcher.push(None)
        self._watchers.clear()

    @staticmethod
    def _parse_rv(text: str) -> int:
        try:
            return int(text)
        except ValueError as exc:
            raise bad_request(f"invalid resource version: {text}") from exc

    def _encode_continue(self, rv: int, key: Key) -> str:
        raw = json.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": "/".join(key)}).encode()
        return base64.urlsafe_b64encode(raw).decode()

    def _decode_continue(self, token: str) -> tuple[int, Key]:
        try:
            data = json.loads(base64.urlsafe_b64decode(token.encode()))
            rv, (namespace, _, name) = int(data["rv"]), str(data["start"]).partition("/")
        except (ValueError, KeyError, TypeError) as exc:
            raise bad_request(f"continue key is not valid: {exc}") from exc
        if rv < self._compacted:
            raise expired(
                "The provided continue parameter is too old to display a consistent list result. You can "
                "start a new list without the continue parameter, or use the continue value from the 410 "
                "response."
            )
        return rv, (namespace, name)
