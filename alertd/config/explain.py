"""pydantic's errors → `FILE:LINE:COL: path: message` lines, with "did you mean" hints."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from alertd.config.checks import close_match
from alertd.config.models import Anomaly, Budget, Config, Defaults, Delivery, Monitoring
from alertd.config.sources import CsvSource, FriendliSource, NorthflankSource
from alertd.config.yaml_tree import dotted, locate, node_position, position


def explain(err: Any, tree: Any, where: str) -> str:
    loc = tuple(err["loc"])
    kind = err["type"]
    if kind == "missing":
        parent, key, path = locate(tree, loc[:-1])
        holder = tree if parent is None else parent[key]
        return f"{where}:{node_position(holder)}: {dotted(path) or 'top level'}: missing required key {loc[-1]!r}"
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        loc = (*loc, "provider")
    parent, key, path = locate(tree, loc)
    pos = "1:1" if parent is None else position(parent, key, of_key=kind == "extra_forbidden")
    if kind == "extra_forbidden":
        return f"{where}:{pos}: {dotted(path[:-1]) or 'top level'}: unknown key {key!r}{_suggest(key, loc)}"
    message = str(err["msg"]).removeprefix("Value error, ").replace("Input should be", "must be")
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        message = "must be one of: northflank, friendli, csv"
    return f"{where}:{pos}: {dotted(path)}: {message}"


def _suggest(key: str, loc: tuple[Any, ...]) -> str:
    return close_match(str(key), _known_keys(loc[:-1]))


def _known_keys(loc: tuple[Any, ...]) -> list[str]:
    """The keys the model at `loc` accepts, for "did you mean" hints."""
    sections: dict[str, type[BaseModel]] = {
        "budgets": Budget,
        "anomalies": Anomaly,
        "delivery": Delivery,
        "defaults": Defaults,
        "monitoring": Monitoring,
        "northflank": NorthflankSource,
        "friendli": FriendliSource,
        "csv": CsvSource,
    }
    model: type[BaseModel] | None = Config
    for part in loc:
        if isinstance(part, int) or part == "sources":
            continue  # a list index, or the list whose items are tagged by provider
        model = sections.get(part)
        if model is None:
            return []
    return list(model.model_fields) if model else []
