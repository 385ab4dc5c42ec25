"""Checks across the whole file that run beside field validation."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from alertd.config.errors import quoted
from alertd.config.yaml_tree import dotted, locate, position


def cross_check(tree: Any, where: str) -> list[str]:
    """What one field alone cannot say: unique names, references, double-counted BYOC.

    Runs on the raw tree, beside field validation, so that every error is reported at once;
    values of the wrong type are left to field validation (a name that is a list is no name here).
    """
    errors: list[str] = []

    def entries(section: str) -> list[tuple[int, dict[str, Any]]]:
        items = tree.get(section)
        return [(i, x) for i, x in enumerate(items) if isinstance(x, dict)] if isinstance(items, list) else []

    def error(path: tuple[Any, ...], message: str) -> None:
        parent, key, _ = locate(tree, path)
        pos = "1:1" if parent is None else position(parent, key)
        errors.append(f"{where}:{pos}: {dotted(path[:2])}: {message}")

    sources = entries("sources")
    source_names = {_text(s.get("name")) for _, s in sources} - {None}
    channels = tree.get("channels") if isinstance(tree.get("channels"), dict) else {}
    currency = tree.get("currency", "USD")
    seen: set[str] = set()
    byoc_owner: dict[tuple[str, str | None], str | None] = {}
    for i, source in sources:
        name = _text(source.get("name"))
        if name in seen:
            error(("sources", i, "name"), f"duplicate source name {quoted(name)}")
        if name is not None:
            seen.add(name)
        provider = source.get("provider")
        if provider == "friendli" and currency != "USD":
            error(
                ("sources", i, "provider"),
                f"friendli reports USD but currency is {quoted(currency)}; alertd does not convert currencies",
            )
        if provider == "northflank" and source.get("byoc", True) is not False:
            customer = (str(source.get("base_url", "")).rstrip("/"), _text(source.get("token")))
            if customer in byoc_owner:
                error(
                    ("sources", i, "byoc" if "byoc" in source else "name"),
                    f"{quoted(name)} and {quoted(byoc_owner[customer])} use the same Northflank token and "
                    "BYOC prices are customer-wide: set `byoc: false` on all but one of them",
                )
            byoc_owner.setdefault(customer, name)
    rule_names: set[str] = set()
    for section in ("budgets", "anomalies"):
        for i, rule in entries(section):
            rule_name = _text(rule.get("name"))
            if rule_name in rule_names:
                error((section, i, "name"), f"duplicate rule name {quoted(rule_name)}")
            if rule_name is not None:
                rule_names.add(rule_name)
            refs = rule.get("sources")
            for j, ref in enumerate(refs if isinstance(refs, list) else []):
                if isinstance(ref, str) and ref not in source_names:
                    hint = close_match(ref, source_names)
                    error((section, i, "sources", j), f"sources: unknown source {quoted(ref)}{hint}")
            for path, ref in _channel_refs(rule.get("notify"), (section, i, "notify")):
                if ref not in channels:
                    error(path, f"notify: unknown channel {quoted(ref)}{close_match(ref, list(channels))}")
    defaults = tree.get("defaults")
    for path, ref in _channel_refs(
        defaults.get("notify") if isinstance(defaults, dict) else None, ("defaults", "notify")
    ):
        if ref not in channels:
            error(path, f"unknown channel {quoted(ref)}{close_match(ref, list(channels))}")
    templates = tree.get("templates")
    for name in templates if isinstance(templates, dict) else {}:
        if name not in channels:
            parent, key, _ = locate(tree, ("templates", name))
            pos = "1:1" if parent is None else position(parent, key, of_key=True)
            hint = close_match(str(name), list(channels))
            errors.append(f"{where}:{pos}: templates: unknown channel {quoted(name)}{hint}")
    monitoring = tree.get("monitoring")
    refs = monitoring.get("notify") if isinstance(monitoring, dict) else None
    for j, ref in enumerate(refs if isinstance(refs, list) else []):
        if isinstance(ref, str) and ref not in channels:
            parent, key, _ = locate(tree, ("monitoring", "notify", j))
            pos = "1:1" if parent is None else position(parent, key)
            errors.append(
                f"{where}:{pos}: monitoring.notify: unknown channel {quoted(ref)}{close_match(ref, list(channels))}"
            )
    return errors


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _channel_refs(value: Any, path: tuple[Any, ...]) -> Iterator[tuple[tuple[Any, ...], str]]:
    """The channel names in a `notify` value (a list, or lists per severity), with their paths."""
    lists = value.items() if isinstance(value, dict) else [(None, value)]
    for key, refs in lists:
        for j, ref in enumerate(refs if isinstance(refs, list) else []):
            if isinstance(ref, str):
                yield (*path, *(() if key is None else (key,)), j), ref


def close_match(name: str, known: Iterable[str]) -> str:
    """A "did you mean" hint when one known name is close to `name`, else ""."""
    import difflib  # only when there is an error to explain

    close = difflib.get_close_matches(name, [k for k in known if isinstance(k, str)], n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
