"""Label and field selectors with the apiserver's grammar and errors."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import bad_request
from .kinds import Kind

# One requirement of a label selector: `k`, `!k`, `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`.
_SET_RE = re.compile(r"^\s*(?P<key>[^\s!=()]+)\s+(?P<op>in|notin)\s*\((?P<values>[^()]*)\)\s*$")
_EQ_RE = re.compile(r"^\s*(?P<key>[^\s!=()]+)\s*(?P<op>==|=|!=)\s*(?P<value>[^\s!=(),]*)\s*$")
_EXISTS_RE = re.compile(r"^\s*(?P<neg>!?)\s*(?P<key>[^\s!=()]+)\s*$")


@dataclass(frozen=True)
class Requirement:
    """``key op values`` where op is one of =, !=, in, notin, exists, !."""

    key: str
    op: str
    values: frozenset[str] = frozenset()

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether ``labels`` satisfy this requirement."""
        present = self.key in labels
        if self.op == "exists":
            return present
        if self.op == "!":
            return not present
        if self.op in ("=", "in"):
            return present and labels[self.key] in self.values
        # != and notin also match objects without the key, as in apimachinery.
        return not present or labels[self.key] not in self.values


@dataclass(frozen=True)
class LabelSelector:
    """Requirements joined by AND; the empty selector matches everything."""

    requirements: tuple[Requirement, ...] = ()

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        """Whether an object with ``labels`` is selected."""
        return all(r.matches(labels or {}) for r in self.requirements)


def _split_top_level(text: str) -> list[str]:
    # Commas inside `in (a,b)` do not separate requirements.
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def parse_label_selector(text: str | None) -> LabelSelector:
    """Parse a ``labelSelector`` query value; 400 BadRequest when malformed."""
    if not text or not text.strip():
        return LabelSelector()
    requirements = []
    for part in _split_top_level(text):
        if match := _SET_RE.match(part):
            values = frozenset(v.strip() for v in match["values"].split(",") if v.strip())
            requirements.append(Requirement(match["key"], match["op"], values))
        elif match := _EQ_RE.match(part):
            op = "!=" if match["op"] == "!=" else "="
            requirements.append(Requirement(match["key"], op, frozenset({match["value"]})))
        elif match := _EXISTS_RE.match(part):
            requirements.append(Requirement(match["key"], "!" if match["neg"] else "exists"))
        else:
            raise bad_request(f"unable to parse requirement: found '{part.strip()}', expected: identifier")
    return LabelSelector(tuple(requirements))


@dataclass(frozen=True)
class FieldSelector:
    """``field=value`` / ``field!=value`` terms joined by AND."""

    terms: tuple[tuple[str, bool, str], ...] = ()  # (field, equal?, value)

    def matches(self, obj: Mapping[str, Any]) -> bool:
        """Whether ``obj`` is selected."""
        return all((field_value(obj, name) == value) == equal for name, equal, value in self.terms)

    def names(self) -> set[str]:
        """Object names the selector pins with ``metadata.name=``, if any (for fast lookups)."""
        return {value for name, equal, value in self.terms if name == "metadata.name" and equal}


def parse_field_selector(text: str | None, kind: Kind) -> FieldSelector:
    """Parse a ``fieldSelector``; unknown field labels are 400 as on a real server."""
    if not text or not text.strip():
        return FieldSelector()
    terms = []
    for part in text.split(","):
        for op in ("!=", "==", "="):
            if op in part:
                name, value = part.split(op, 1)
                break
        else:
            raise bad_request(f"invalid selector: '{text}'; can't understand '{part}'")
        name = name.strip()
        if name not in kind.field_labels:
            raise bad_request(f"field label not supported: {name}")
        terms.append((name, op != "!=", value.strip()))
    return FieldSelector(tuple(terms))


def field_value(obj: Mapping[str, Any], path: str) -> str:
    """Return the value of a dotted field path as a selector compares it (missing = empty string)."""
    if path == "source":  # Events select on the reporting component
        return str(obj.get("source", {}).get("component", ""))
    value: Any = obj
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return ""
        value = value.get(part, "")
    return "" if value is None else str(value)
