"""The rules file: YAML + environment → a validated, frozen Config.

Every problem is reported as `FILE:LINE:COL: message`, all of them at once. Positions come
from ruamel.yaml's round-trip loader; validation is pydantic, whose error locations are
mapped back onto the YAML nodes.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

DEFAULT_PATHS = (Path("rules.yaml"), Path("/etc/alertd/rules.yaml"))
FRIENDLI_MIN_EVERY = timedelta(minutes=5)  # the API asks for at least 5 minutes between calls


class ConfigError(Exception):
    """One or more `FILE:LINE:COL: message` lines."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


# --- value types -------------------------------------------------------------------------

_DURATION_PART = re.compile(r"(\d+)([smhdw])")
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(value: object) -> timedelta:
    """`30s`, `15m`, `1h`, `2d`, `1w`, or a combination such as `1h30m`."""
    text = str(value).strip() if isinstance(value, str) else None
    if not text or _DURATION_PART.sub("", text) != "":
        raise ValueError(f"{value!r} is not a duration (write 30s, 15m, 1h, 2d)")
    seconds = sum(int(n) * _DURATION_UNITS[u] for n, u in _DURATION_PART.findall(text))
    if seconds <= 0:
        raise ValueError(f"{value!r}: a duration must be longer than zero")
    return timedelta(seconds=seconds)


def _amount(value: object) -> Decimal:
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not an amount")
    try:
        amount = Decimal(str(value).strip().replace(",", "").replace("_", ""))
    except InvalidOperation:
        raise ValueError(f"{value!r} is not an amount (write 2000 or 1999.99)") from None
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"{value!r}: an amount must be a number of zero or more")
    return amount


def _percent(value: object) -> Decimal:
    text = str(value).strip()
    number = _amount(text.removesuffix("%"))
    if number == 0:
        raise ValueError(f"{value!r}: a percentage must be above zero")
    return number


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
Severity = Literal["info", "warning", "critical"]
SEVERITIES: tuple[Severity, ...] = ("info", "warning", "critical")
# Channel names, or per minimum severity: {info: [chat], critical: [pager]} sends a critical
# alert to chat and pager, a warning to chat.
Notify = tuple[str, ...] | dict[Severity, tuple[str, ...]]


def route(notify: Notify, severity: str) -> tuple[str, ...]:
    """The channels an alert of `severity` goes to."""
    if not isinstance(notify, dict):
        return notify
    rank = SEVERITIES.index(severity)  # type: ignore[arg-type]
    chosen = [c for level, channels in notify.items() if SEVERITIES.index(level) <= rank for c in channels]
    return tuple(dict.fromkeys(chosen))


Amount = Annotated[Decimal, BeforeValidator(_amount)]
Percent = Annotated[Decimal, BeforeValidator(_percent)]
Name = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][\w.\-]*$")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)


# --- sources -----------------------------------------------------------------------------


class _HttpSource(_Model):
    name: Name
    token: SecretStr = Field(min_length=1)
    team: str | None = None
    timeout: Duration = timedelta(seconds=30)
    stale_after: Duration | None = None  # see `stale_after_of`

    @field_validator("base_url", check_fields=False)
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+", value):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value.rstrip("/")


class NorthflankSource(_HttpSource):
    provider: Literal["northflank"]
    base_url: str = "https://api.northflank.com"
    every: Duration = timedelta(minutes=15)
    lookback: Duration = timedelta(hours=24)
    unit: Literal["cents", "currency"] = "cents"
    byoc: bool = True  # BYOC prices are customer-wide: only one source per customer may count them


class FriendliSource(_HttpSource):
    provider: Literal["friendli"]
    base_url: str = "https://api.friendli.ai"
    every: Duration = timedelta(hours=1)
    lookback: Duration = timedelta(days=3)

    @field_validator("every")
    @classmethod
    def _not_too_often(cls, value: timedelta) -> timedelta:
        return max(value, FRIENDLI_MIN_EVERY)


class CsvSource(_Model):
    name: Name
    provider: Literal["csv"]
    path: Path
    bucket: Duration = timedelta(hours=1)
    every: Duration = timedelta(minutes=15)
    stale_after: Duration | None = None


def stale_after_of(source: NorthflankSource | FriendliSource | CsvSource) -> timedelta:
    """How long a source may fail before it is a blind spot: three polls, at least two hours."""
    return source.stale_after or max(3 * source.every, timedelta(hours=2))


Source = Annotated[NorthflankSource | FriendliSource | CsvSource, Field(discriminator="provider")]

# --- rules (evaluated by later stages; validated here so one file is checked as a whole) --

Period = Literal["day", "week", "month", "quarter", "year"]
Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


class Budget(_Model):
    name: Name
    amount: Amount
    period: Period
    week_start: Weekday = "monday"
    thresholds: tuple[Percent, ...] = (Decimal(50), Decimal(80), Decimal(100))
    forecast: tuple[Percent, ...] = ()
    sources: tuple[str, ...] | None = None
    line_items: tuple[str, ...] | None = None
    notify: Notify
    repeat: Duration | None = None
    summary: bool = False  # when a period closes, say how it ended

    @field_validator("amount")
    @classmethod
    def _positive(cls, value: Decimal) -> Decimal:
        if value <= 0:
            raise ValueError("a budget amount must be above zero")
        return value

    @field_validator("thresholds", "forecast")
    @classmethod
    def _sorted_unique(cls, value: tuple[Decimal, ...]) -> tuple[Decimal, ...]:
        return tuple(sorted(set(value)))


class Anomaly(_Model):
    name: Name
    sources: tuple[str, ...] | None = None
    line_items: tuple[str, ...] | None = None
    by: Literal["line_item", "source", "total"] = "line_item"
    sensitivity: float | None = Field(default=None, gt=0)
    min_impact: Amount = Decimal(0)
    min_percent: Amount = Decimal(0)
    direction: Literal["up", "down", "both"] = "up"
    baseline: Duration | None = None
    cooldown: Duration | None = None
    send_resolved: bool = False
    notify: Notify


def _urls(value: object) -> object:
    return [value] if isinstance(value, str) else value


ChannelUrls = Annotated[tuple[SecretStr, ...], BeforeValidator(_urls), Field(min_length=1)]


class Delivery(_Model):
    give_up_after: Duration = timedelta(hours=24)  # a delivery still failing then is recorded as failed
    report_failures: bool = True  # say so in the next message that reaches another channel


class Monitoring(_Model):
    notify: tuple[str, ...] | None = None  # channels for blind spots (default: every channel)
    heartbeat_url: SecretStr | None = None  # requested after each healthy cycle: a dead man's switch

    @field_validator("heartbeat_url")
    @classmethod
    def _http(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not re.match(r"^https?://[^/\s]+", value.get_secret_value()):
            raise ValueError("heartbeat_url must be an http(s) URL")
        return value


class Metrics(_Model):
    listen: str  # host:port for Prometheus to scrape, e.g. 127.0.0.1:9464

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        host, _, port = value.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"listen must be host:port, such as 127.0.0.1:9464, not {value!r}")
        return value

    @property
    def address(self) -> tuple[str, int]:
        host, _, port = self.listen.rpartition(":")
        return host.strip("[]"), int(port)  # [::1]:9464 is IPv6 loopback


class TemplateSpec(_Model):
    title: str | None = None  # Jinja2, see README "Message templates"
    body: str | None = None

    @field_validator("title", "body")
    @classmethod
    def _compiles(cls, value: str | None, info: ValidationInfo) -> str | None:
        from alertd.notify.templates import TemplateError, compile_template

        try:
            compile_template(value, None) if info.field_name == "title" else compile_template(None, value)
        except TemplateError as exc:
            raise ValueError(str(exc)) from None
        return value


class Defaults(_Model):
    """Values for every rule that does not set its own."""

    notify: Notify | None = None
    repeat: Duration | None = None  # budgets
    cooldown: Duration | None = None  # anomalies
    send_resolved: bool | None = None  # anomalies


_DEFAULTED = {"budgets": ("notify", "repeat"), "anomalies": ("notify", "cooldown", "send_resolved")}


class Config(_Model):
    timezone: str = "UTC"
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    database: Path | None = None
    sources: tuple[Source, ...] = ()
    channels: dict[Name, ChannelUrls] = Field(default_factory=dict)
    budgets: tuple[Budget, ...] = ()
    anomalies: tuple[Anomaly, ...] = ()
    delivery: Delivery = Delivery()
    monitoring: Monitoring = Monitoring()
    metrics: Metrics | None = None  # serve Prometheus metrics (the daemon only)
    templates: dict[Name, TemplateSpec] = Field(default_factory=dict)  # channel name → its template
    defaults: Defaults = Defaults()

    @model_validator(mode="before")
    @classmethod
    def _apply_defaults(cls, data: Any) -> Any:
        defaults = data.get("defaults") if isinstance(data, dict) else None
        if not isinstance(defaults, dict):
            return data
        data = dict(data)
        for section, keys in _DEFAULTED.items():
            rules = data.get(section)
            if isinstance(rules, list):
                fill = {k: defaults[k] for k in keys if defaults.get(k) is not None}
                data[section] = [{**fill, **r} if isinstance(r, dict) else r for r in rules]
        return data

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Europe/Berlin)") from None
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def source(self, name: str) -> NorthflankSource | FriendliSource | CsvSource:
        for source in self.sources:
            if source.name == name:
                return source
        raise KeyError(name)

    def secrets(self) -> list[str]:
        """Every secret value, so that logs and errors can mask them."""
        values = [s.token.get_secret_value() for s in self.sources if not isinstance(s, CsvSource)]
        values += [u.get_secret_value() for urls in self.channels.values() for u in urls]
        if self.monitoring.heartbeat_url:
            values.append(self.monitoring.heartbeat_url.get_secret_value())
        return [v for v in values if v]

    def summary(self) -> str:
        def count(n: int, word: str) -> str:
            return f"{n} {word}{'' if n == 1 else 's'}"

        names = ", ".join(f"{s.name} ({s.provider})" for s in self.sources)
        return (
            f"{count(len(self.sources), 'source')}{f' [{names}]' if names else ''}, "
            f"{count(len(self.channels), 'channel')}, {count(len(self.budgets), 'budget')}, "
            f"{count(len(self.anomalies), 'anomaly rule')}; "
            f"timezone {self.timezone}, currency {self.currency}"
        )


# --- loading -----------------------------------------------------------------------------


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
    env = os.environ if env is None else env
    where = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"{where}: cannot read: {exc.strerror or exc}"]) from None
    tree = _parse_yaml(text, where)
    if tree is None:
        tree = {}
    if not isinstance(tree, dict):
        raise ConfigError([f"{where}:1:1: the file must be a mapping of keys (timezone, sources, ...)"])
    errors: list[str] = []
    missing: list[str] = []
    _substitute(tree, (), env, where, errors, missing, allow_missing_env)
    try:
        config = Config.model_validate(_plain(tree))
    except ValidationError as exc:
        errors += [_explain(err, tree, where) for err in exc.errors()]
    errors += _cross_check(tree, where)
    if errors:
        raise ConfigError(sorted(errors, key=_line_col))
    return Loaded(_resolve_paths(config, path.parent, env), path, tuple(dict.fromkeys(missing)))


def _line_col(error: str) -> tuple[int, int]:
    match = re.match(r".*?:(\d+):(\d+): ", error)
    return (int(match.group(1)), int(match.group(2))) if match else (0, 0)


def _parse_yaml(text: str, where: str) -> Any:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    try:
        return YAML(typ="rt").load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = " ".join(p for p in (exc.context, exc.problem) if p)
        raise ConfigError([f"{where}:{line}:{col}: invalid YAML: {problem}"]) from None
    except YAMLError as exc:
        raise ConfigError([f"{where}:1:1: invalid YAML: {exc}"]) from None


_VAR = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _substitute(
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

            def lookup(match: re.Match[str], at: tuple[Any, ...] = (*path, key), pos: str = _pos(node, key)) -> str:
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
                    f"{where}:{pos}: {_dotted(at)}: environment variable {name} is "
                    f"not set (nor is a credential file $CREDENTIALS_DIRECTORY/{name})"
                )
                return match.group(0)

            node[key] = _VAR.sub(lookup, value)
        else:
            _substitute(value, (*path, key), env, where, errors, missing, allow_missing)


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


def _plain(node: Any) -> Any:
    """ruamel's commented containers and scalar subclasses → plain Python values."""
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    if isinstance(node, float):
        return str(node)  # keep "19.99" exact for Decimal fields; pydantic parses floats back
    if isinstance(node, str):
        return str(node)
    return node


def _pos(node: Any, key: Any, *, of_key: bool = False) -> str:
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


def _node_pos(node: Any) -> str:
    lc = getattr(node, "lc", None)
    return f"{lc.line + 1}:{lc.col + 1}" if lc is not None else "1:1"


def _locate(tree: Any, loc: Sequence[Any]) -> tuple[Any, Any, tuple[Any, ...]]:
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


def _explain(err: Any, tree: Any, where: str) -> str:
    loc = tuple(err["loc"])
    kind = err["type"]
    if kind == "missing":
        parent, key, path = _locate(tree, loc[:-1])
        holder = tree if parent is None else parent[key]
        return f"{where}:{_node_pos(holder)}: {_dotted(path) or 'top level'}: missing required key {loc[-1]!r}"
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        loc = (*loc, "provider")
    parent, key, path = _locate(tree, loc)
    pos = "1:1" if parent is None else _pos(parent, key, of_key=kind == "extra_forbidden")
    if kind == "extra_forbidden":
        return f"{where}:{pos}: {_dotted(path[:-1]) or 'top level'}: unknown key {key!r}{_suggest(key, loc)}"
    message = str(err["msg"]).removeprefix("Value error, ").replace("Input should be", "must be")
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        message = "must be one of: northflank, friendli, csv"
    return f"{where}:{pos}: {_dotted(path)}: {message}"


def _suggest(key: str, loc: tuple[Any, ...]) -> str:
    return _close(str(key), _known_keys(loc[:-1]))


def _known_keys(loc: tuple[Any, ...]) -> list[str]:
    """The keys the model at `loc` accepts, for "did you mean" hints."""
    sections: dict[str, type[BaseModel]] = {
        "budgets": Budget,
        "anomalies": Anomaly,
        "delivery": Delivery,
        "defaults": Defaults,
        "monitoring": Monitoring,
        "northflank": NorthflankSource,
        "friendli": FriendliSource,
        "csv": CsvSource,
    }
    model: type[BaseModel] | None = Config
    for part in loc:
        if isinstance(part, int) or part == "sources":
            continue  # a list index, or the list whose items are tagged by provider
        model = sections.get(part)
        if model is None:
            return []
    return list(model.model_fields) if model else []


def _dotted(path: Sequence[Any]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _cross_check(tree: Any, where: str) -> list[str]:
    """What one field alone cannot say: unique names, references, double-counted BYOC.

    Runs on the raw tree, beside field validation, so that every error is reported at once;
    values of the wrong type are left to field validation.
    """
    errors: list[str] = []

    def entries(section: str) -> list[tuple[int, dict[str, Any]]]:
        items = tree.get(section)
        return [(i, x) for i, x in enumerate(items) if isinstance(x, dict)] if isinstance(items, list) else []

    def error(path: tuple[Any, ...], message: str) -> None:
        parent, key, _ = _locate(tree, path)
        pos = "1:1" if parent is None else _pos(parent, key)
        errors.append(f"{where}:{pos}: {_dotted(path[:2])}: {message}")

    sources = entries("sources")
    source_names = {s.get("name") for _, s in sources}
    channels = tree.get("channels") if isinstance(tree.get("channels"), dict) else {}
    currency = tree.get("currency", "USD")
    seen: set[Any] = set()
    byoc_owner: dict[tuple[Any, Any], Any] = {}
    for i, source in sources:
        name = source.get("name")
        if name in seen:
            error(("sources", i, "name"), f"duplicate source name {name!r}")
        seen.add(name)
        provider = source.get("provider")
        if provider == "friendli" and currency != "USD":
            error(
                ("sources", i, "provider"),
                f"friendli reports USD but currency is {currency}; alertd does not convert currencies",
            )
        if provider == "northflank" and source.get("byoc", True) is not False:
            customer = (str(source.get("base_url", "")).rstrip("/"), source.get("token"))
            if customer in byoc_owner:
                error(
                    ("sources", i, "byoc" if "byoc" in source else "name"),
                    f"{name!r} and {byoc_owner[customer]!r} use the same Northflank token and "
                    "BYOC prices are customer-wide: set `byoc: false` on all but one of them",
                )
            byoc_owner.setdefault(customer, name)
    rule_names: set[Any] = set()
    for section in ("budgets", "anomalies"):
        for i, rule in entries(section):
            if rule.get("name") in rule_names:
                error((section, i, "name"), f"duplicate rule name {rule.get('name')!r}")
            rule_names.add(rule.get("name"))
            refs = rule.get("sources")
            for j, ref in enumerate(refs if isinstance(refs, list) else []):
                if isinstance(ref, str) and ref not in source_names:
                    names = [k for k in source_names if isinstance(k, str)]
                    error((section, i, "sources", j), f"sources: unknown source {ref!r}{_close(ref, names)}")
            for path, ref in _channel_refs(rule.get("notify"), (section, i, "notify")):
                if ref not in channels:
                    error(path, f"notify: unknown channel {ref!r}{_close(ref, list(channels))}")
    defaults = tree.get("defaults")
    for path, ref in _channel_refs(
        defaults.get("notify") if isinstance(defaults, dict) else None, ("defaults", "notify")
    ):
        if ref not in channels:
            error(path, f"unknown channel {ref!r}{_close(ref, list(channels))}")
    templates = tree.get("templates")
    for name in templates if isinstance(templates, dict) else {}:
        if name not in channels:
            parent, key, _ = _locate(tree, ("templates", name))
            pos = "1:1" if parent is None else _pos(parent, key, of_key=True)
            errors.append(f"{where}:{pos}: templates: unknown channel {name!r}{_close(str(name), list(channels))}")
    monitoring = tree.get("monitoring")
    refs = monitoring.get("notify") if isinstance(monitoring, dict) else None
    for j, ref in enumerate(refs if isinstance(refs, list) else []):
        if isinstance(ref, str) and ref not in channels:
            parent, key, _ = _locate(tree, ("monitoring", "notify", j))
            pos = "1:1" if parent is None else _pos(parent, key)
            errors.append(f"{where}:{pos}: monitoring.notify: unknown channel {ref!r}{_close(ref, list(channels))}")
    return errors


def _channel_refs(value: Any, path: tuple[Any, ...]) -> Iterator[tuple[tuple[Any, ...], str]]:
    """The channel names in a `notify` value (a list, or lists per severity), with their paths."""
    lists = value.items() if isinstance(value, dict) else [(None, value)]
    for key, refs in lists:
        for j, ref in enumerate(refs if isinstance(refs, list) else []):
            if isinstance(ref, str):
                yield (*path, *(() if key is None else (key,)), j), ref


def _close(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _resolve_paths(config: Config, base: Path, env: Mapping[str, str]) -> Config:
    """Relative paths in the file are relative to the file; the database has a default."""
    sources = tuple(
        s.model_copy(update={"path": base / s.path}) if isinstance(s, CsvSource) and not s.path.is_absolute() else s
        for s in config.sources
    )
    if config.database is not None:
        database = config.database if config.database.is_absolute() else base / config.database
    elif env.get("STATE_DIRECTORY"):
        database = Path(env["STATE_DIRECTORY"].split(":")[0]) / "alertd.db"
    else:
        database = Path("alertd.db")
    return config.model_copy(update={"sources": sources, "database": database})
