"""Checks across the whole file that run beside field validation."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from alertd.config.yaml_tree import dotted, locate, position


def cross_check(tree: Any, where: str) -> list[str]:
    """What one field alone cannot say: unique names, references, double-counted BYOC.

    Runs on the raw tree, beside field validation, so that every error is reported at once;
    values of the wrong type are left to field validation.
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
    source_names = {s.get("name") for _, s in sources}
    channels = tree.get("channels") if isinstance(tree.get("channels"), dict) else {}
    currency = tree.get("currency", "USD")
    seen: set[Any] = set()
    byoc_owner: dict[tuple[Any, Any], Any] = {}
    for i, source in sources:
        name = source.get("name")
        if name in seen:
            error(("sources", i, "name"), f"duplicate source name {name!r}")
        seen.add(name)
        provider = source.get("provider")
        if provider == "friendli" and currency != "USD":
            error(
                ("sources", i, "provider"),
                f"friendli reports USD but currency is {currency}; alertd does not convert currencies",
            )
        if provider == "northflank" and source.get("byoc", True) is not False:
            customer = (str(source.get("base_url", "")).rstrip("/"), source.get("token"))
            if customer in byoc_owner:
                error(
                    ("sources", i, "byoc" if "byoc" in source else "name"),
                    f"{name!r} and {byoc_owner[customer]!r} use the same Northflank token and "
                    "BYOC prices are customer-wide: set `byoc: false` on all but one of them",
                )
            byoc_owner.setdefault(customer, name)
    rule_names: set[Any] = set()
    for section in ("budgets", "anomalies"):
        for i, rule in entries(section):
            if rule.get("name") in rule_names:
                error((section, i, "name"), f"duplicate rule name {rule.get('name')!r}")
            rule_names.add(rule.get("name"))
            refs = rule.get("sources")
            for j, ref in enumerate(refs if isinstance(refs, list) else []):
                if isinstance(ref, str) and ref not in source_names:
                    names = [k for k in source_names if isinstance(k, str)]
                    error((section, i, "sources", j), f"sources: unknown source {ref!r}{close_match(ref, names)}")
            for path, ref in _channel_refs(rule.get("notify"), (section, i, "notify")):
                if ref not in channels:
                    error(path, f"notify: unknown channel {ref!r}{close_match(ref, list(channels))}")
    defaults = tree.get("defaults")
    for path, ref in _channel_refs(
        defaults.get("notify") if isinstance(defaults, dict) else None, ("defaults", "notify")
    ):
        if ref not in channels:
            error(path, f"unknown channel {ref!r}{close_match(ref, list(channels))}")
    templates = tree.get("templates")
    for name in templates if isinstance(templates, dict) else {}:
        if name not in channels:
            parent, key, _ = locate(tree, ("templates", name))
            pos = "1:1" if parent is None else position(parent, key, of_key=True)
            errors.append(f"{where}:{pos}: templates: unknown channel {name!r}{close_match(str(name), list(channels))}")
    monitoring = tree.get("monitoring")
    refs = monitoring.get("notify") if isinstance(monitoring, dict) else None
    for j, ref in enumerate(refs if isinstance(refs, list) else []):
        if isinstance(ref, str) and ref not in channels:
            parent, key, _ = locate(tree, ("monitoring", "notify", j))
            pos = "1:1" if parent is None else position(parent, key)
            errors.append(
                f"{where}:{pos}: monitoring.notify: unknown channel {ref!r}{close_match(ref, list(channels))}"
            )
    return errors


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

    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
