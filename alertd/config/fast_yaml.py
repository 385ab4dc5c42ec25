"""A fast first reading of the rules file: libyaml's C parser, values exactly as ruamel reads them.

ruamel's round-trip loader (`yaml_tree.parse_yaml`) spends ~0.2 s on a 30 KB file, most of a
command's start-up, building the positions that only error messages need; libyaml parses the
same file in ~7 ms. The values must come out as ruamel's YAML 1.2 reading gives them, so this
reads only what it can read the same way: untagged, unanchored mappings, sequences and scalars,
string keys, plain scalars that are strings, nulls, booleans, decimal integers and decimals.
Anything else (tags, anchors, merge keys, dates, `0o17`/`1e3`/`1_000`/`.inf` numbers, duplicate
keys, directives, more than one document, a syntax error) raises `Unsupported`, and the caller
reads the file with ruamel, as it does when validation finds a problem. A file past the limits
(`limits.EventGuard`: too deep, too many aliases) is refused here, as ruamel would refuse it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from yaml import YAMLError
from yaml.events import (
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)

from alertd.config.limits import EventGuard


class Unsupported(Exception):
    """A text this reader cannot promise to read exactly as ruamel does."""


# How ruamel resolves an untagged plain scalar under YAML 1.2 (`ruamel.yaml.resolver`; the tests
# hold these to ruamel's reading). Of what is not a string, only the forms below are read here.
_FLOAT = re.compile(
    r"[-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+]?[0-9]+)?|[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+"
    r"|[-+]?\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)"
)
_INT = re.compile(r"[-+]?0b[0-1_]+|[-+]?0o?[0-7_]+|[-+]?[0-9_]+|[-+]?0x[0-9a-fA-F_]+")
_TIMESTAMP = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{4}-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9]{2}:[0-9]{2}"
    r"(?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9]{2})?))?"
)
# Where libyaml and ruamel part ways: a BOM past the start, NEL/LS/PS line breaks, tabs, a CR
# without LF, a block scalar's `|` or `>` with a comment straight after it, a quoted key with
# its value straight after the colon (`{"a":1}`).
_DIVERGENT = re.compile("[\t\x85\u2028\u2029\ufeff]|\r(?!\n)|[|>][-+0-9]*#|['\"] *:[^ \r\n]")
_NULL = ("", "~", "null", "Null", "NULL")
_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_DECIMAL_FLOAT = re.compile(r"[-+]?[0-9]+\.[0-9]*")
_DECIMAL_INT = re.compile(r"[-+]?[0-9]+")  # ruamel: an int of the same value (`012`: 12, an int to `plain`)
_INT_DIGITS = 4000  # int() refuses more than 4,300 digits (sys.get_int_max_str_digits)


def read(text: str, where: str) -> Any:
    """The mapping ruamel's round-trip loader + `yaml_tree.plain` would see, or Unsupported;
    ConfigError for a file past the limits (`where` names it)."""
    text = text.removeprefix("\ufeff")
    if _DIVERGENT.search(text):
        raise Unsupported
    try:
        from yaml.cyaml import CParser
    except ImportError:  # PyYAML built without libyaml, whose pure-Python parser is no faster than ruamel's
        raise Unsupported from None
    parser = CParser(text)
    guard = EventGuard(where)
    events = []
    try:
        while parser.check_event():
            events.append(parser.get_event())
            guard.see(events[-1])
    except YAMLError:
        raise Unsupported from None  # ruamel reports it, at its position
    stream = iter(events[1:])  # after StreamStart
    start = next(stream)
    if isinstance(start, StreamEndEvent):
        return None  # an empty file
    if start.version or start.tags:
        raise Unsupported  # `%YAML 1.1` would change how ruamel reads the values
    top = next(stream)
    if not isinstance(top, MappingStartEvent):
        raise Unsupported  # not a rules file (the two differ on a top-level block scalar)
    tree = _node(top, stream)
    next(stream)  # DocumentEnd
    if not isinstance(next(stream), StreamEndEvent):
        raise Unsupported  # a second document: ruamel refuses the file
    return tree


def _node(event: Any, events: Iterator[Any]) -> Any:
    if event.anchor is not None or getattr(event, "tag", None) is not None:
        raise Unsupported  # anchors, aliases and tags give ruamel's values types of their own
    if isinstance(event, ScalarEvent):
        if event.style in ("|", ">") and event.value[:1] in ("", "\n"):
            raise Unsupported  # an empty block scalar, or one that starts with an empty line: ruamel has quirks
        return _plain_scalar(event.value) if event.implicit[0] else event.value
    if isinstance(event, SequenceStartEvent):
        items = []
        while not isinstance(event := next(events), SequenceEndEvent):
            items.append(_node(event, events))
        return items
    mapping: dict[str, Any] = {}
    while not isinstance(event := next(events), MappingEndEvent):
        key = _node(event, events)
        if type(key) is not str or key in mapping:
            raise Unsupported  # ruamel reads such keys as other types, and refuses duplicates
        mapping[key] = _node(next(events), events)
    return mapping


def _plain_scalar(value: str) -> Any:
    if value in _BOOL:
        return _BOOL[value]
    if _FLOAT.fullmatch(value):
        if _DECIMAL_FLOAT.fullmatch(value):
            return value  # as ruamel's reading here gives it: the text, exact for Decimal fields
        raise Unsupported
    if _INT.fullmatch(value):
        if _DECIMAL_INT.fullmatch(value) and len(value) <= _INT_DIGITS:
            return int(value)
        raise Unsupported  # ruamel reports an int longer than Python reads, at its position
    if value in _NULL:
        return None
    if value in ("<<", "=") or _TIMESTAMP.fullmatch(value):
        raise Unsupported  # a merge key, a value key, a date
    return value
