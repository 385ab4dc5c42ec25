"""Daemon settings that are not rules, from `ALERTD_*` environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ALERTD_", extra="ignore")

    config: Path | None = None  # the rules file, when -c is not given
    database: Path | None = None  # overrides `database:` in the rules file
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["text", "json"] = "text"
