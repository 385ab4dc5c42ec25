"""The one exception every config problem is reported through."""

from __future__ import annotations


class ConfigError(Exception):
    """One or more `FILE:LINE:COL: message` lines."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


def quoted(value: object, limit: int = 40) -> str:
    """A value as a message quotes it: its repr, cut short (a 5,000-character value helps no one)."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 4]}...{text[-1]}"
