"""pydantic's errors → `FILE:LINE:COL: path: message` lines, in the words of the rules file."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from alertd.config.checks import close_match
from alertd.config.models import Anomaly, Budget, Config, Defaults, Delivery, Monitoring
from alertd.config.sources import CsvSource, FriendliSource, NorthflankSource
from alertd.config.values import NAME_PATTERN
from alertd.config.yaml_tree import dotted, locate, node_position, position

_NOTIFY = "must be a list of channel names, such as [ops], or lists per minimum severity, such as {info: [ops]}"
_PERCENTAGES = "a list of percentages, such as [50, 80, 100]"
# What a list holds, by the key it is under (a rule's `sources` are names, the file's are sections)
_LISTS = {
    "sources": "a list of source names, such as [northflank]",
    "line_items": "a list of line-item patterns, such as ['*gpu*']",
    "notify": "a list of channel names, such as [ops]",
    "thresholds": _PERCENTAGES,
    "forecast": _PERCENTAGES,
}
_TOP_LISTS = {"sources": "a list of sources", "budgets": "a list of budgets", "anomalies": "a list of anomaly rules"}
_MAPPINGS = {
    "channels": "a mapping of channel names to Apprise URLs",
    "templates": "a mapping of channel names to templates",
}
_TYPES = {
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "string_too_short": "must not be empty",
    "too_short": "must not be empty",
}


def explain(err: Any, tree: Any, where: str) -> str | None:
    """The line for one pydantic error; None for one that another line already says."""
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
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        message: str | None = "must be one of: northflank, friendli, csv"
    else:
        message = _message(err, kind, loc, path)
    return None if message is None else f"{where}:{pos}: {dotted(path)}: {message}"


def _message(err: Any, kind: str, loc: tuple[Any, ...], path: tuple[Any, ...]) -> str | None:
    value = err.get("input")
    field = path[-1] if path and isinstance(path[-1], str) else None
    notify_branch = next((i for i, part in enumerate(loc) if isinstance(part, str) and "[" in part), None)
    if notify_branch == len(loc) - 1:  # `notify` as a whole is neither of its two forms
        if (kind == "tuple_type" and isinstance(value, dict)) or (kind == "dict_type" and isinstance(value, list)):
            return None  # the other form's errors say what is wrong inside it
        return _NOTIFY
    if kind in ("tuple_type", "list_type"):
        if notify_branch is not None:  # a severity's channels: {critical: pager} for {critical: [pager]}
            field = "notify"
        if len(path) == 1 and field in _TOP_LISTS:
            return f"must be {_TOP_LISTS[field]}, not {_found(value)}"
        if len(path) == 2 and path[0] == "channels":
            return f"must be an Apprise URL or a list of them, not {_found(value)}"
        return f"must be {_LISTS.get(str(field), 'a list')}, not {_found(value)}"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        noun = _MAPPINGS.get(str(field), "a mapping of keys") if len(path) == 1 else "a mapping of keys"
        return f"must be {noun}, not {_found(value)}"
    if kind == "string_type":
        return f"must be text, not {_found(value)}"
    if kind == "string_pattern_mismatch" and field == "currency":
        return "must be a three-letter currency code, such as USD or EUR"
    if kind == "string_pattern_mismatch" and err.get("ctx", {}).get("pattern") == NAME_PATTERN:
        return "a name may hold letters, digits, '.', '_' and '-', and starts with a letter or digit"
    if kind == "string_too_long":
        return f"must be at most {err.get('ctx', {}).get('max_length', 100)} characters"
    if kind in _TYPES:
        return _TYPES[kind]
    return str(err["msg"]).removeprefix("Value error, ").replace("Input should be", "must be")


def _found(value: Any) -> str:
    """What the file holds instead, in its own words."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float | Decimal):
        return "a number"
    return "text"


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
