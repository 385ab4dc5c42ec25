"""Finding and loading the rules file: read, substitute, validate, cross-check, resolve paths."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from alertd.config.channel_urls import channel_url_errors
from alertd.config.checks import cross_check
from alertd.config.errors import ConfigError
from alertd.config.limits import MAX_BYTES
from alertd.config.masking import mask, secret_values
from alertd.config.models import Config, TemplateAllowance
from alertd.config.sources import CsvSource, FocusSource
from alertd.config.yaml_tree import locate, parse_yaml, plain, position, substitute

DEFAULT_PATHS = (Path("rules.yaml"), Path("/etc/alertd/rules.yaml"))


def find_config(explicit: str | None, env: Mapping[str, str]) -> Path:
    """`-c FILE`, else `$ALERTD_CONFIG`, else ./rules.yaml, else /etc/alertd/rules.yaml."""
    if explicit:
        return Path(explicit)
    if env.get("ALERTD_CONFIG"):
        return Path(env["ALERTD_CONFIG"])
    for candidate in DEFAULT_PATHS:
        if candidate.exists():
            return candidate
    tried = ", ".join(str(p) for p in DEFAULT_PATHS)
    raise ConfigError([f"no config file: tried {tried}; pass -c FILE or set ALERTD_CONFIG"])


@dataclass(frozen=True)
class Loaded:
    config: Config
    path: Path
    missing_env: tuple[str, ...]  # only non-empty when missing variables were allowed


def load(path: Path, env: Mapping[str, str] | None = None, *, allow_missing_env: bool = False) -> Loaded:
    """Read, substitute `${VAR}`, validate. Raises ConfigError with every problem found."""
    from alertd.config import fast_yaml

    env = os.environ if env is None else env
    text = _read(path)
    try:
        tree = fast_yaml.read(text, str(path))
    except fast_yaml.Unsupported:
        pass
    else:
        try:
            return from_tree(tree, path, env, allow_missing_env=allow_missing_env)
        except ConfigError:
            pass  # read again by ruamel: the same values, and the positions that messages need
    return from_tree(parse_yaml(text, str(path)), path, env, allow_missing_env=allow_missing_env)


def _read(path: Path) -> str:
    try:
        with path.open("rb") as file:
            data = file.read(MAX_BYTES + 1)  # at most: the path may name a device that never ends
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror or exc}"]) from None
    if len(data) > MAX_BYTES:
        raise ConfigError([f"{path}:1:1: the file is larger than {MAX_BYTES // 1024} KB, more than alertd reads"])
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        start = data.rfind(b"\n", 0, exc.start) + 1
        line, col = data.count(b"\n", 0, exc.start) + 1, len(data[start : exc.start].decode("utf-8", "replace")) + 1
        raise ConfigError(
            [f"{path}:{line}:{col}: the file is not UTF-8 text (byte 0x{data[exc.start]:02x}); save it as UTF-8"]
        ) from None


def from_tree(tree: Any, path: Path, env: Mapping[str, str], *, allow_missing_env: bool = False) -> Loaded:
    """A parsed file (ruamel's tree, with positions, or the fast reader's) → a Loaded, or ConfigError."""
    where = str(path)
    if tree is None:
        tree = {}
    if not isinstance(tree, dict):
        raise ConfigError([f"{where}:1:1: the file must be a mapping of keys (timezone, sources, ...)"])
    done = substitute(tree, env, where, allow_missing_env)
    errors = done.errors
    try:
        config = Config.model_validate(plain(tree), context={"templates": TemplateAllowance()})
    except ValidationError as exc:
        from alertd.config.explain import explain  # only when there is something to explain

        errors += [line for err in exc.errors() if (line := explain(err, tree, where))]
    errors += cross_check(tree, where)
    errors += channel_url_errors(tree, where, done.missing)
    if errors:
        lines = mask(list(dict.fromkeys(errors)), secret_values(tree, done.values))
        raise ConfigError(sorted(lines, key=_line_col))
    return Loaded(_resolve_paths(config, path.parent, env), path, tuple(dict.fromkeys(done.missing)))


def _line_col(error: str) -> tuple[int, int]:
    match = re.match(r".*?:(\d+):(\d+): ", error)
    return (int(match.group(1)), int(match.group(2))) if match else (0, 0)


def check_database(loaded: Loaded, database: Path, *, named_by: str | None = None) -> None:
    """Refuse a database whose directory does not exist, as an error in the rules file (or in
    `named_by`, the environment variable that named it instead). alertd makes no directory: a
    mistyped path would hide the database there. `validate` leaves this to the commands that open
    the database, since it may run where the database is not (a CI job)."""
    directory = database.parent
    if directory.is_dir():
        return
    problem = f"{directory} is not a directory" if directory.exists() else f"the directory {directory} does not exist"
    problem += "; alertd creates the database file, not its directory"
    if named_by is not None:
        raise ConfigError([f"{named_by}: {problem}"])
    tree = parse_yaml(_read(loaded.path), str(loaded.path))  # read again for positions, as for any error
    parent, key, _ = locate(tree, ("database",))
    pos = "1:1" if parent is None else position(parent, key)  # the default: $STATE_DIRECTORY's
    raise ConfigError([f"{loaded.path}:{pos}: database: {problem}"])


def _resolve_paths(config: Config, base: Path, env: Mapping[str, str]) -> Config:
    """Relative paths in the file are relative to the file; the database has a default."""
    sources = tuple(
        s.model_copy(update={"path": base / s.path})
        if isinstance(s, CsvSource) and not s.path.is_absolute()
        else s.model_copy(update={"path": str(base / s.path)})
        if isinstance(s, FocusSource) and not Path(s.path).is_absolute()
        else s
        for s in config.sources
    )
    if config.database is not None:
        database = config.database if config.database.is_absolute() else base / config.database
    elif env.get("STATE_DIRECTORY"):
        database = Path(env["STATE_DIRECTORY"].split(":")[0]) / "alertd.db"
    else:
        database = Path("alertd.db")
    return config.model_copy(update={"sources": sources, "database": database})
