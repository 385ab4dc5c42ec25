"""The one exception every config problem is reported through."""

from __future__ import annotations


class ConfigError(Exception):
    """One or more `FILE:LINE:COL: message` lines."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines
