"""Edits for `Fault("edit", edit=...)`: poisoned values, duplicated and shifted entries, in any
provider's JSON answer, addressed by dotted paths whose numbers index lists (-1: the last).

    Fault("edit", edit=put("data.usage.0.paasUsage.price.cpu", Decimal("1e308")))
    Fault("edit", edit=duplicate("data.0.results.0"))            # the same line item twice
    Fault("edit", edit=shift("data.usage.0.timestamp", 1800))      # half an hour off its bucket
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

Edit = Callable[[Any], Any]


def put(path: str, value: object) -> Edit:
    """Set the value at `path` (a poisoned price, a timestamp of "NaN", a list for an object)."""

    def edit(body: Any) -> Any:
        parent, key = _parent(body, path)
        parent[key] = value
        return body

    return edit


def duplicate(path: str, changes: dict[str, object] | None = None) -> Edit:
    """List the element at `path` twice, the copy right after it, with `changes` (dotted paths
    inside the element) applied to the copy."""

    def edit(body: Any) -> Any:
        parent, key = _parent(body, path)
        twin = copy.deepcopy(parent[key])
        for inner, value in (changes or {}).items():
            put(inner, value)(twin)
        parent.insert(key + 1, twin)
        return body

    return edit


def shift(path: str, by: int) -> Edit:
    """Add `by` to the number at `path` (move an entry off its bucket, or out of the window)."""

    def edit(body: Any) -> Any:
        parent, key = _parent(body, path)
        parent[key] += by
        return body

    return edit


def _parent(body: Any, path: str) -> tuple[Any, Any]:
    *steps, last = (int(part) if part.lstrip("-").isdigit() else part for part in path.split("."))
    for step in steps:
        body = body[step]
    return body, last
