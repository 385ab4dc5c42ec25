"""The rules, the other sections and the whole `Config`."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator

from alertd.config.errors import quoted
from alertd.config.sources import HttpSource, Source, SourceConfig
from alertd.config.values import (
    Amount,
    ChannelUrls,
    Duration,
    LocalPath,
    Name,
    Notify,
    Percent,
    Section,
    http_url_problem,
    printable_ascii,
)

# --- rules (evaluated by later stages; validated here so one file is checked as a whole) --

Period = Literal["day", "week", "month", "quarter", "year"]
Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


class Budget(Section):
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


class Anomaly(Section):
    name: Name
    sources: tuple[str, ...] | None = None
    line_items: tuple[str, ...] | None = None
    by: Literal["line_item", "source", "total"] = "line_item"
    sensitivity: float | None = Field(default=None, gt=0)
    min_impact: Amount | None = None  # None: the documented default (see alerts.anomaly)
    min_share: Amount | None = None  # None: the documented default (see alerts.anomaly)
    min_percent: Amount = Decimal(0)
    direction: Literal["up", "down", "both"] = "up"
    baseline: Duration | None = None
    cooldown: Duration | None = None
    send_resolved: bool = False
    notify: Notify


class Delivery(Section):
    give_up_after: Duration = timedelta(hours=24)  # a delivery still failing then is recorded as failed
    report_failures: bool = True  # say so in the next message that reaches another channel


class Monitoring(Section):
    notify: tuple[str, ...] | None = None  # channels for blind spots (default: every channel)
    heartbeat_url: SecretStr | None = None  # requested after each healthy cycle: a dead man's switch

    @field_validator("heartbeat_url")
    @classmethod
    def _http(cls, value: SecretStr | None) -> SecretStr | None:
        problem = None if value is None else http_url_problem(value.get_secret_value())
        if problem:
            raise ValueError(problem)
        return value


class Listener(Section):
    listen: str  # host:port

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        host, _, port = value.rpartition(":")
        if not host or not (port.isascii() and port.isdigit()) or not 0 < int(port) < 65536:
            raise ValueError(f"listen must be host:port, such as 127.0.0.1:9464, not {quoted(value)}")
        return value

    @property
    def address(self) -> tuple[str, int]:
        host, _, port = self.listen.rpartition(":")
        return host.strip("[]"), int(port)  # [::1]:9464 is IPv6 loopback


class Metrics(Listener):
    """Prometheus metrics, e.g. listen: 127.0.0.1:9464."""


class WebAuth(Section):
    """Who may read the dashboard: a bearer token, or a password for HTTP basic auth (any user name)."""

    token: SecretStr | None = None
    password: SecretStr | None = None

    @field_validator("token", "password")
    @classmethod
    def _not_empty(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        # `${VAR}` set to "" must not turn auth off: an empty secret matches a request that sends none
        text = "" if value is None else value.get_secret_value()
        if value is not None and not text.strip():
            raise ValueError(f"an empty {info.field_name} would let anyone in")
        if info.field_name == "token":
            printable_ascii(text, "a token", spaces=False)  # it arrives in a header
        return value

    @model_validator(mode="after")
    def _one(self) -> WebAuth:
        if (self.token is None) == (self.password is None):
            raise ValueError("auth takes one of token or password")
        return self


class Web(Listener):
    """The dashboard (`alertd dashboard`): loopback unless told otherwise."""

    listen: str = "127.0.0.1:8080"
    public_url: str | None = None  # where people reach it: messages link to their budget's page
    auth: WebAuth | None = None

    @field_validator("public_url")
    @classmethod
    def _http(cls, value: str | None) -> str | None:
        problem = None if value is None else http_url_problem(value)
        if problem:
            raise ValueError(problem)
        return value


class TemplateAllowance:
    """How many characters of templates one file may still hold: compiling costs up to ~40 µs a
    character, and a check of the file should take well under a second. Validation's context."""

    TOTAL = 16_000

    def __init__(self) -> None:
        self.left = self.TOTAL

    def take(self, source: str) -> None:
        self.left -= len(source)
        if self.left < 0:
            raise ValueError(f"the file's templates hold more than {self.TOTAL} characters in all")


class TemplateSpec(Section):
    title: str | None = None  # Jinja2, see README "Message templates"
    body: str | None = None

    @field_validator("title", "body")
    @classmethod
    def _compiles(cls, value: str | None, info: ValidationInfo) -> str | None:
        from alertd.notify.templates import TemplateError, compile_template

        allowance = (info.context or {}).get("templates")
        if allowance is not None and value is not None:
            allowance.take(value)
        try:
            compile_template(value, None) if info.field_name == "title" else compile_template(None, value)
        except TemplateError as exc:
            raise ValueError(str(exc)) from None
        return value


class Defaults(Section):
    """Values for every rule that does not set its own."""

    notify: Notify | None = None
    repeat: Duration | None = None  # budgets
    cooldown: Duration | None = None  # anomalies
    send_resolved: bool | None = None  # anomalies
    min_impact: Amount | None = None  # anomalies: one floor for the whole file
    min_share: Amount | None = None  # anomalies


_DEFAULTED = {
    "budgets": ("notify", "repeat"),
    "anomalies": ("notify", "cooldown", "send_resolved", "min_impact", "min_share"),
}


class Config(Section):
    timezone: str = "UTC"
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    database: LocalPath | None = None
    sources: tuple[Source, ...] = ()
    channels: dict[Name, ChannelUrls] = Field(default_factory=dict)
    budgets: tuple[Budget, ...] = ()
    anomalies: tuple[Anomaly, ...] = ()
    delivery: Delivery = Delivery()
    monitoring: Monitoring = Monitoring()
    metrics: Metrics | None = None  # serve Prometheus metrics (the daemon only)
    web: Web | None = None  # the dashboard's listener and auth (`alertd dashboard`)
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
        except (ZoneInfoNotFoundError, ValueError, OSError):  # not found, not a key, not a zone file
            raise ValueError(f"unknown time zone {quoted(value)} (use an IANA name such as Europe/Berlin)") from None
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def source(self, name: str) -> SourceConfig:
        for source in self.sources:
            if source.name == name:
                return source
        raise KeyError(name)

    def secrets(self) -> list[str]:
        """Every secret value, so that logs and errors can mask them."""
        values = [s.token.get_secret_value() for s in self.sources if isinstance(s, HttpSource)]
        values += [u.get_secret_value() for urls in self.channels.values() for u in urls]
        if self.monitoring.heartbeat_url:
            values.append(self.monitoring.heartbeat_url.get_secret_value())
        if self.web and self.web.auth:
            values += [s.get_secret_value() for s in (self.web.auth.token, self.web.auth.password) if s]
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
