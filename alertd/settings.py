"""Daemon settings that are not rules, from `ALERTD_*` environment variables."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

_PREFIX = "alertd_"


class Settings(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    config: Path | None = None  # the rules file, when -c is not given
    database: Path | None = None  # overrides `database:` in the rules file
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["text", "json"] = "text"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """`ALERTD_LOG_LEVEL=debug` → log_level; names in any case. Raises pydantic's ValidationError.

        A plain model rather than pydantic-settings' BaseSettings, which takes ~40 ms to import
        (a fifth of a command's start-up) for these four variables.
        """
        lowered = {name.lower(): value for name, value in env.items()}
        return cls.model_validate({k.removeprefix(_PREFIX): v for k, v in lowered.items() if k.startswith(_PREFIX)})
