"""The YAML side: ruamel's round-trip tree, `${VAR}` substitution, and positions in the file.

ruamel is imported only when a file is parsed, so that importing alertd.config stays cheap.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from alertd.config.errors import ConfigError


def parse_yaml(text: str, where: str) -> Any:
    from ruamel.yaml import YAML
    from ruamel.yaml.constructor import RoundTripConstructor
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    class Constructor(RoundTripConstructor):
        """Floats as the text written: amounts are money, and a binary float rounds them
        (`1234567890123.123456` would be read as 1234567890123.1235)."""

    Constructor.add_constructor("tag:yaml.org,2002:float", lambda self, node: str(node.value))
    yaml = YAML(typ="rt")
    yaml.Constructor = Constructor
    try:
        return yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = " ".join(p for p in (exc.context, exc.problem) if p)
        raise ConfigError([f"{where}:{line}:{col}: invalid YAML: {problem}"]) from None
    except YAMLError as exc:
        raise ConfigError([f"{where}:1:1: invalid YAML: {exc}"]) from None


_VAR = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def substitute(
    node: Any,
    path: tuple[Any, ...],
    env: Mapping[str, str],
    where: str,
    errors: list[str],
    missing: list[str],
    allow_missing: bool,
) -> None:
    """Replace `${VAR}` in string values in place; `$$` is a literal dollar sign."""
    items: Iterable[tuple[Any, Any]]
    if isinstance(node, dict):
        items = list(node.items())
    elif isinstance(node, list):
        items = list(enumerate(node))
    else:
        return
    for key, value in items:
        if isinstance(value, str):

            def lookup(match: re.Match[str], at: tuple[Any, ...] = (*path, key), pos: str = position(node, key)) -> str:
                name = match.group(1)
                if name is None:
                    return "$"
                found = _env_value(name, env)
                if found is not None:
                    return found
                if allow_missing:
                    missing.append(name)
                    return match.group(0)
                errors.append(
                    f"{where}:{pos}: {dotted(at)}: environment variable {name} is "
                    f"not set (nor is a credential file $CREDENTIALS_DIRECTORY/{name})"
                )
                return match.group(0)

            node[key] = _VAR.sub(lookup, value)
        else:
            substitute(value, (*path, key), env, where, errors, missing, allow_missing)


def _env_value(name: str, env: Mapping[str, str]) -> str | None:
    if name in env:
        return env[name]
    directory = env.get("CREDENTIALS_DIRECTORY")
    if directory:
        try:
            return (Path(directory) / name).read_text(encoding="utf-8").rstrip("\r\n")
        except OSError:
            return None
    return None


def plain(node: Any) -> Any:
    """ruamel's commented containers and scalar subclasses → plain Python values."""
    if isinstance(node, dict):
        return {str(k): plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [plain(v) for v in node]
    if isinstance(node, int) and not isinstance(node, bool):
        return int(node)  # ruamel's ScalarInt (`012`, `1_000`) as what it is, the fast reader's too
    if isinstance(node, str):
        return str(node)
    return node


def position(node: Any, key: Any, *, of_key: bool = False) -> str:
    """1-based `LINE:COL` of a mapping key / its value, or of a sequence item."""
    lc = getattr(node, "lc", None)
    if lc is None:
        return "1:1"
    try:
        if isinstance(node, list):
            line, col = lc.item(key)
        else:
            line, col = lc.key(key) if of_key else lc.value(key)
    except (KeyError, IndexError, TypeError):
        line, col = lc.line, lc.col
    return f"{line + 1}:{col + 1}"


def node_position(node: Any) -> str:
    lc = getattr(node, "lc", None)
    return f"{lc.line + 1}:{lc.col + 1}" if lc is not None else "1:1"


def locate(tree: Any, loc: Sequence[Any]) -> tuple[Any, Any, tuple[Any, ...]]:
    """Walk pydantic's `loc` through the YAML tree → (parent node, last key, YAML path).

    Parts that are not keys of the YAML (a union's tag, a validator's name) are skipped.
    """
    parent, key, node, path = None, None, tree, ()
    for part in loc:
        if (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        ):
            parent, key, node, path = node, part, node[part], (*path, part)
    return parent, key, path


def dotted(path: Sequence[Any]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
