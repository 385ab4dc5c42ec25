"""The rules file: YAML + environment → a validated, frozen Config.

Every problem is reported as `FILE:LINE:COL: message`, all of them at once. Positions come
from ruamel.yaml's round-trip loader; validation is pydantic, whose error locations are
mapped back onto the YAML nodes. A file without problems is read by libyaml instead
(`fast_yaml`, 25x faster), to the same values; one with problems is read again by ruamel.
Whatever a file holds, a load ends quickly (`limits`: size, depth, aliases) and no message
quotes a secret (`masking`).
"""

from alertd.config.channel_urls import checking_channel_urls
from alertd.config.errors import ConfigError
from alertd.config.loader import DEFAULT_PATHS, Loaded, check_database, find_config, load
from alertd.config.models import (
    Anomaly,
    Budget,
    Config,
    Defaults,
    Delivery,
    Metrics,
    Monitoring,
    Period,
    TemplateSpec,
    Web,
    Weekday,
)
from alertd.config.sources import (
    FRIENDLI_MIN_EVERY,
    AnthropicSource,
    CsvSource,
    FocusSource,
    FriendliSource,
    HttpSource,
    NorthflankSource,
    OpenAISource,
    Source,
    SourceConfig,
    stale_after_of,
)
from alertd.config.values import (
    SEVERITIES,
    Amount,
    ChannelUrls,
    Duration,
    Name,
    Notify,
    Percent,
    Severity,
    parse_duration,
    route,
)

__all__ = [
    "DEFAULT_PATHS",
    "FRIENDLI_MIN_EVERY",
    "SEVERITIES",
    "Amount",
    "Anomaly",
    "AnthropicSource",
    "Budget",
    "ChannelUrls",
    "Config",
    "ConfigError",
    "CsvSource",
    "Defaults",
    "Delivery",
    "Duration",
    "FocusSource",
    "FriendliSource",
    "HttpSource",
    "Loaded",
    "Metrics",
    "Monitoring",
    "Name",
    "NorthflankSource",
    "Notify",
    "OpenAISource",
    "Percent",
    "Period",
    "Severity",
    "Source",
    "SourceConfig",
    "TemplateSpec",
    "Web",
    "Weekday",
    "check_database",
    "checking_channel_urls",
    "find_config",
    "load",
    "parse_duration",
    "route",
    "stale_after_of",
]
