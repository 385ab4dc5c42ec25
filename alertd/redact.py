"""Secrets never leave the process: every message that may be shown passes through here."""

from __future__ import annotations

import logging
from urllib.parse import quote

MASK = "***"
_secrets: set[str] = set()


def register(*values: str) -> None:
    """Remember secret values (tokens, URLs with passwords) to mask wherever they appear."""
    for value in values:
        if value and len(value) >= 4:  # masking "ab" would mangle ordinary words
            _secrets.add(value)
            _secrets.add(quote(value, safe=""))  # as it appears inside a URL


def redact(text: str) -> str:
    for secret in sorted(_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    return text


class RedactingFilter(logging.Filter):
    """Masks secrets in the final text of every log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:  # formatters reuse exc_text: mask it once here
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return True
