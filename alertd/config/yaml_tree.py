"""The YAML side: ruamel's round-trip tree, `${VAR}` substitution, and positions in the file.

ruamel is imported only when a file is parsed, so that importing alertd.config stays cheap.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from alertd.config.errors import ConfigError, quoted
from alertd.config.limits import EventGuard


def parse_yaml(text: str, where: str) -> Any:
    from ruamel.yaml import YAML
    from ruamel.yaml.constructor import ConstructorError, DuplicateKeyError, RoundTripConstructor
    from ruamel.yaml.error import MarkedYAMLError, ReusedAnchorWarning, YAMLError
    from ruamel.yaml.parser import RoundTripParser
    from ruamel.yaml.reader import ReaderError

    guard = EventGuard(where)

    class Parser(RoundTripParser):
        """Every event passes the guard before it is composed: a file too deep, or with too many
        aliases, stops here, before ruamel recurses into it or anything is expanded."""

        def get_event(self) -> Any:
            event = super().get_event()
            guard.see(event)
            return event

    class Constructor(RoundTripConstructor):
        """Floats as the text written: amounts are money, and a binary float rounds them
        (`123456789012.123456` would be read as 123456789012.12346)."""

        def construct_object(self, node: Any, deep: bool = False) -> Any:
            try:
                return super().construct_object(node, deep=deep)
            except (ValueError, OverflowError):  # `2026-13-45`, `!!int x`, an int of 5,000 digits
                kind = node.tag.rpartition(":")[2] if isinstance(node.tag, str) else "value"
                raise ConstructorError(
                    None, None, f"this cannot be read as {_KINDS.get(kind, 'a ' + kind)}", node.start_mark
                ) from None

        def check_mapping_key(self, node: Any, key_node: Any, mapping: Any, key: Any, value: Any) -> bool:
            try:
                duplicate = key in mapping
            except TypeError:  # `? {a: [b]}`: a key ruamel makes hashable, but not what it holds
                raise ConstructorError(None, None, "a key may not hold a list", key_node.start_mark) from None
            if duplicate:  # ruamel's own message quotes both values, and a duplicated `token:` holds secrets
                raise DuplicateKeyError(None, None, f"duplicate key {quoted(key)}", key_node.start_mark)
            return True

    Constructor.add_constructor("tag:yaml.org,2002:float", lambda self, node: str(node.value))
    yaml = YAML(typ="rt")
    yaml.Parser = Parser
    yaml.Constructor = Constructor
    try:
        with warnings.catch_warnings():
            # a reused anchor is valid YAML (the later one counts); ruamel's warning prints the lines, secrets and all
            warnings.simplefilter("ignore", ReusedAnchorWarning)
            return yaml.load(text)
    except MarkedYAMLError as exc:
        raise ConfigError([f"{where}:{_explain_yaml_error(exc, text)}"]) from None
    except ReaderError as exc:  # a character YAML does not allow, such as a NUL
        before = text[: exc.position]
        line, col = before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1
        raise ConfigError(
            [f"{where}:{line}:{col}: invalid YAML: the character U+{exc.character:04X} is not allowed"]
        ) from None
    except YAMLError as exc:
        raise ConfigError([f"{where}:1:1: invalid YAML: {' '.join(str(exc).split())}"]) from None


_KINDS = {"int": "a whole number", "float": "a number", "timestamp": "a date or time", "bool": "true or false"}


def _explain_yaml_error(exc: Any, text: str) -> str:
    """`LINE:COL: invalid YAML: ...` where the problem is, which is not always where ruamel stopped."""
    mark, context, problem = exc.problem_mark or exc.context_mark, exc.context, exc.problem or ""
    opened = exc.context_mark
    line, col = (mark.line, mark.column) if mark else (0, 0)
    if mark is not None and opened is not None and "end of stream" in problem:
        line, col = opened.line, opened.column  # an unclosed quote: where it opens, not the end of the file
    elif mark is not None and opened is not None and context and context.startswith("while parsing a flow"):
        # A missing `]`, `}` or `,` shows only at the next token, often a line later: say so after
        # the last thing written before that line, in the list or mapping opened at the context mark.
        before = _end_of_line_before(text, mark)
        if before is not None:
            (line, col), problem, context = before, problem.partition(", but")[0] + " here", None
        what = "list" if "sequence" in exc.context else "mapping" if "mapping" in exc.context else None
        if what:
            context, problem = None, f"{problem} (in the {what} opened at {opened.line + 1}:{opened.column + 1})"
    return f"{line + 1}:{col + 1}: invalid YAML: {' '.join(p for p in (context, problem) if p)}"


def _end_of_line_before(text: str, mark: Any) -> tuple[int, int] | None:
    """Where what is written on the lines before `mark` ends (0-based line, column), or None."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    last = None
    try:
        for token in YAML(typ="safe", pure=True).scan(text):
            if token.start_mark.index >= mark.index:
                break
            if token.start_mark.line < mark.line and type(token).__name__ != "StreamStartToken":
                last = token
    except YAMLError:
        pass  # the scan reached the error again: the tokens before it are what matters
    if last is None:
        return None
    if last.end_mark.line < mark.line:
        return last.end_mark.line, last.end_mark.column
    # a plain scalar that goes on to `mark`'s line (`[1, 2` then `budgets: []`): after its first line
    first = text.splitlines()[last.start_mark.line]
    return last.start_mark.line, len(first.rstrip())


_VAR = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


MAX_CREDENTIAL = 64 * 1024  # a credential file larger than this is not a token


@dataclass
class Substitution:
    """What `substitute` did: its problems, the names left unset (when allowed), and every
    string it put a value into, which error messages must not quote (it may be a secret)."""

    errors: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    values: list[str] = field(default_factory=list)


def substitute(tree: Any, env: Mapping[str, str], where: str, allow_missing: bool) -> Substitution:
    """Replace `${VAR}` in string values in place; `$$` is a literal dollar sign."""
    done = Substitution()
    seen: set[int] = set()

    def walk(node: Any, path: tuple[Any, ...]) -> None:
        items: Iterable[tuple[Any, Any]]
        if isinstance(node, dict):
            items = list(node.items())
        elif isinstance(node, list):
            items = list(enumerate(node))
        else:
            return
        if id(node) in seen:
            return  # an alias: its node is done already, and `$$` → `$` must not happen twice
        seen.add(id(node))
        for key, value in items:
            if not isinstance(value, str):
                walk(value, (*path, key))
            elif "$" in value:
                found = len(done.values)
                node[key] = _VAR.sub(partial(replace, at=(*path, key), node=node, key=key), value)
                if len(done.values) > found:
                    done.values.append(node[key])  # the whole string: a message may quote it, not just the variable

    def replace(match: re.Match[str], *, at: tuple[Any, ...], node: Any, key: Any) -> str:
        name = match.group(1)
        if name is None:
            return "$"
        found, problem = _env_value(name, env)
        if found is not None:
            done.values.append(found)
            return found
        if allow_missing and problem is None:
            done.missing.append(name)
        else:
            done.errors.append(f"{where}:{position(node, key)}: {dotted(at)}: {problem or _unset(name)}")
        return match.group(0)

    walk(tree, ())
    return done


def _unset(name: str) -> str:
    return f"environment variable {name} is not set (nor is a credential file $CREDENTIALS_DIRECTORY/{name})"


def _env_value(name: str, env: Mapping[str, str]) -> tuple[str | None, str | None]:
    """The variable's value, else its credential file's text; or None and what is wrong, if not just unset."""
    if name in env:
        return env[name], None
    directory = env.get("CREDENTIALS_DIRECTORY")
    if not directory:
        return None, None
    try:
        with (Path(directory) / name).open("rb") as file:
            data = file.read(MAX_CREDENTIAL + 1)
    except OSError:
        return None, None
    unreadable = f"the credential file $CREDENTIALS_DIRECTORY/{name} is not UTF-8 text of up to 64 KB"
    if len(data) > MAX_CREDENTIAL:
        return None, unreadable
    try:
        return data.decode("utf-8").rstrip("\r\n"), None
    except UnicodeDecodeError:
        return None, unreadable


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
