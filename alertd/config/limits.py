"""How much a rules file may ask of the reader, so that no file can hang or crash a load.

`validate` answers within 2 s and a SIGHUP reload never stalls the daemon: both rest on these
bounds. A real organisation's rules (benchmarks/scale.py: 200 budgets, 50 anomaly rules) are
~27 KB and ~3,000 values; the limits leave three times that and more. ruamel, which reads every
file with a problem, takes ~60 µs a value: the value limit keeps its slowest read under a second.
"""

from __future__ import annotations

from typing import Any

from alertd.config.errors import ConfigError

MAX_BYTES = 256 * 1024
MAX_DEPTH = 64  # nested mappings and lists; a rules file needs 4
MAX_VALUES = 10_000  # every key, value and item, an alias counted as all that it repeats


class EventGuard:
    """Counts a YAML event stream as it is read: libyaml's and ruamel's events have the same
    names and fields, so one guard serves the fast reader and ruamel alike.

    An alias makes the reader repeat the node it names without reading it again: nine aliases
    of nine aliases of ... (the "billion laughs") are a few hundred bytes that stand for 10^9
    values. The guard knows the expanded size of every anchored node, so it stops at the alias
    that goes over the limit, before anything is expanded.
    """

    def __init__(self, where: str) -> None:
        self.where = where
        self.values = 0
        self._open: list[list[Any]] = []  # per open mapping or list: [its anchor, its values so far]
        self._sizes: dict[str, int] = {}  # anchor → values of its node, aliases inside it expanded

    def see(self, event: Any) -> None:
        kind = type(event).__name__
        if kind in ("MappingStartEvent", "SequenceStartEvent"):
            if len(self._open) >= MAX_DEPTH:
                self._refuse(event, f"nested more than {MAX_DEPTH} levels deep")
            self._count(event, 1, "the file holds")
            self._open.append([event.anchor, 1])
        elif kind in ("MappingEndEvent", "SequenceEndEvent"):
            self._complete(*self._open.pop())
        elif kind == "ScalarEvent":
            self._count(event, 1, "the file holds")
            self._complete(event.anchor, 1)
        elif kind == "AliasEvent":
            if any(anchor == event.anchor for anchor, _ in self._open):
                self._refuse(event, f"the alias *{event.anchor} is inside the node it names, which makes a loop")
            size = self._sizes.get(event.anchor, 1)  # an unknown anchor: the reader reports it
            self._count(event, size, "too many aliases: expanded, the file would hold")
            self._complete(None, size)

    def _count(self, event: Any, size: int, what: str) -> None:
        self.values += size
        if self.values > MAX_VALUES:
            self._refuse(
                event, f"{what} more than {MAX_VALUES} values (keys, values and list items), the most alertd reads"
            )

    def _complete(self, anchor: str | None, size: int) -> None:
        """A node is read: remember its size under its anchor, and count it in the node around it."""
        if anchor is not None:
            self._sizes[anchor] = size
        if self._open:
            self._open[-1][1] += size

    def _refuse(self, event: Any, message: str) -> None:
        mark = event.start_mark
        raise ConfigError([f"{self.where}:{mark.line + 1}:{mark.column + 1}: {message}"])
