"""Reading the nested JSON that REST APIs answer with (Kubernetes objects, ONTAP records)."""

from __future__ import annotations

from typing import Any


def dig(obj: Any, *path: str) -> Any:
    """Follow ``path`` through nested dicts; ``None`` where something is missing or not a dict."""
    for key in path:
        obj = obj.get(key) if isinstance(obj, dict) else None
    return obj
