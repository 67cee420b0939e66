"""ONTAP's collection query language over rendered records: filters, ``fields=``, paging.

* Filters: any (dotted) field as a query parameter. ``a|b|c`` matches any alternative, ``!x``
  negates, ``*`` is a wildcard, ``<``/``>``/``<=``/``>=`` compare numbers; string matching ignores
  case. A filter on a list field (``unhealthy_reason.code``) matches if any element matches.
* ``fields``: comma-separated, dotted paths allowed; ``*`` and ``**`` mean everything. The key and
  ``_links`` are always returned. Without ``fields`` a collection returns keys only, an instance
  everything.
* ``max_records`` pages by ascending key with a ``_links.next`` href carrying ``start.<key>``;
  ``return_records=false`` returns only the count; ``return_timeout`` must be 0-120.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from netapp_dataops_airflow.simulators.ontap import errors

# order_by is not simulated: it is rejected as an unexpected argument rather than ignored.
RESERVED = frozenset({"fields", "max_records", "return_records", "return_timeout"})
MAX_RETURN_TIMEOUT = 120


@dataclass(frozen=True)
class CollectionQuery:
    """The parsed query string of a collection GET."""

    filters: dict[str, str]
    fields: tuple[str, ...] | None
    max_records: int | None
    return_records: bool
    start: str | None


def parse_bool(name: str, value: str) -> bool:
    """Parse a ``true``/``false`` query parameter."""
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise errors.invalid_value(name, "must be true or false.")


def parse_fields(params: Mapping[str, str], known: frozenset[str]) -> tuple[str, ...] | None:
    """Return the requested field paths, validated against the resource's top-level fields."""
    raw = params.get("fields")
    if raw is None:
        return None
    fields = tuple(part.strip() for part in raw.split(",") if part.strip())
    for path in fields:
        if path not in ("*", "**") and path.split(".")[0] not in known:
            raise errors.invalid_value("fields", f'"{path}" is not a field of this object.')
    return fields


def parse_return_timeout(params: Mapping[str, str]) -> None:
    """Validate ``return_timeout`` (nothing here takes long enough for it to matter)."""
    raw = params.get("return_timeout")
    if raw is not None and not (raw.isdigit() and int(raw) <= MAX_RETURN_TIMEOUT):
        raise errors.invalid_value("return_timeout", f"must be an integer from 0 to {MAX_RETURN_TIMEOUT}.")


def parse_collection_query(
    params: Mapping[str, str], known: frozenset[str], key: str, extra: Iterable[str] = ()
) -> CollectionQuery:
    """Split a collection query into filters and controls; reject unknown parameters."""
    start_param = f"start.{key}"
    filters: dict[str, str] = {}
    for name, value in params.items():
        if name in RESERVED or name == start_param or name in extra:
            continue
        if name.split(".")[0] not in known:
            raise errors.unexpected_argument(name)
        filters[name] = value
    parse_return_timeout(params)
    max_records = params.get("max_records")
    if max_records is not None and not (max_records.isdigit() and int(max_records) > 0):
        raise errors.invalid_value("max_records", "must be a positive integer.")
    return CollectionQuery(
        filters=filters,
        fields=parse_fields(params, known),
        max_records=int(max_records) if max_records is not None else None,
        return_records=parse_bool("return_records", params.get("return_records", "true")),
        start=params.get(start_param),
    )


def values_at(record: Any, path: str) -> list[Any]:
    """Every value at a dotted path, descending into lists."""
    current = [record]
    for part in path.split("."):
        found: list[Any] = []
        for item in current:
            items = item if isinstance(item, list) else [item]
            found.extend(element[part] for element in items if isinstance(element, dict) and part in element)
        current = found
    return [value for item in current for value in (item if isinstance(item, list) else [item])]


def _text(value: Any) -> str:
    return str(value).lower() if not isinstance(value, bool) else ("true" if value else "false")


def _matches_one(value: Any, condition: str) -> bool:
    for operator in ("<=", ">=", "<", ">"):
        if condition.startswith(operator) and isinstance(value, (int, float)) and not isinstance(value, bool):
            try:
                bound = float(condition[len(operator) :])
            except ValueError:
                return False
            return {"<=": value <= bound, ">=": value >= bound, "<": value < bound, ">": value > bound}[
                operator
            ]
    return fnmatch.fnmatchcase(_text(value), condition.lower())


def matches(record: dict[str, Any], filters: Mapping[str, str]) -> bool:
    """Whether a record satisfies every filter."""
    for path, expression in filters.items():
        values = values_at(record, path)
        satisfied = False
        for alternative in expression.split("|"):
            if alternative.startswith("!"):
                satisfied = not any(_matches_one(value, alternative[1:]) for value in values)
            else:
                satisfied = any(_matches_one(value, alternative) for value in values)
            if satisfied:
                break
        if not satisfied:
            return False
    return True


def _pick(record: Any, parts: list[str]) -> Any:
    """Return ``record`` trimmed to the dotted path, nested as in the record; ``None`` if absent."""
    if isinstance(record, list):
        picked = [item for item in (_pick(element, parts) for element in record) if item is not None]
        return picked or None
    if not isinstance(record, dict) or parts[0] not in record:
        return None
    value = record[parts[0]]
    if len(parts) == 1:
        return {parts[0]: value}
    inner = _pick(value, parts[1:])
    return None if inner is None else {parts[0]: inner}


def _merge(target: dict[str, Any], addition: dict[str, Any]) -> None:
    for name, value in addition.items():
        existing = target.get(name)
        if isinstance(value, dict) and isinstance(existing, dict):
            _merge(existing, value)
        elif isinstance(value, list) and isinstance(existing, list) and len(value) == len(existing):
            for mine, theirs in zip(existing, value, strict=True):
                _merge(mine, theirs)
        else:
            target[name] = value


def select_fields(
    record: dict[str, Any], fields: tuple[str, ...] | None, keys: Iterable[str]
) -> dict[str, Any]:
    """Trim a record to the requested fields, always keeping the keys and ``_links``."""
    if fields is None or "*" in fields or "**" in fields:
        return record
    selected: dict[str, Any] = {}
    for path in (*keys, *fields, "_links"):
        picked = _pick(record, path.split("."))
        if picked is not None:
            _merge(selected, picked)
    return selected


def collection_body(
    records: list[dict[str, Any]], query: CollectionQuery, *, key: str, path: str, params: Mapping[str, str]
) -> dict[str, Any]:
    """Filter, page and trim records into ONTAP's collection envelope."""
    selected = [record for record in records if matches(record, query.filters)]
    selected.sort(key=lambda record: str(record.get(key, "")))
    if query.start is not None:
        selected = [record for record in selected if str(record.get(key, "")) >= query.start]
    next_start = None
    if query.max_records is not None and len(selected) > query.max_records:
        next_start = str(selected[query.max_records].get(key))
        selected = selected[: query.max_records]
    body: dict[str, Any] = {"num_records": len(selected)}
    if query.return_records:
        fields = query.fields if query.fields is not None else ()
        body["records"] = [select_fields(record, fields, (key,)) for record in selected]
    body_links: dict[str, Any] = {"self": {"href": _href(path, params)}}
    if next_start is not None:
        following = {name: value for name, value in params.items() if name != f"start.{key}"}
        following[f"start.{key}"] = next_start
        body_links["next"] = {"href": _href(path, following)}
    body["_links"] = body_links
    return body


def _href(path: str, params: Mapping[str, str]) -> str:
    return f"{path}?{urlencode(dict(params))}" if params else path
