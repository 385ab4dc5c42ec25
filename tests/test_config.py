from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from alertd import config
from tests.conftest import ROOT, run_cli

BASE = """sources:
  - name: nf
    provider: northflank
    token: tok-123456
channels:
  ops: json://127.0.0.1:9/hook
"""


def errors_of(path: Path, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(config.ConfigError) as caught:
        config.load(path, env or {})
    return caught.value.lines


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("timezone: Mars/Base\n", ":1:11: timezone: unknown time zone 'Mars/Base'"),
        ("currency: dollars\n", ":1:11: currency: must be a three-letter currency code, such as USD or EUR"),
        (
            "sources:\n  - name: a\n    provider: aws\n",
            ":3:15: sources[0].provider: must be one of: northflank, friendli, csv",
        ),
        ("sources:\n  - name: a\n    provider: friendli\n", ":2:5: sources[0]: missing required key 'token'"),
        (
            "sources:\n  - name: a\n    provider: northflank\n    token: t\n    evry: 5m\n",
            ":5:5: sources[0]: unknown key 'evry' (did you mean 'every'?)",
        ),
        (
            "sources:\n  - name: a\n    provider: csv\n    path: x.csv\n    bucket: hourly\n",
            ":5:13: sources[0].bucket: 'hourly' is not a duration",
        ),
        (
            "sources:\n  - name: a\n    provider: northflank\n    token: t\n    unit: dollars\n",
            ":5:11: sources[0].unit: must be 'cents' or 'currency'",
        ),
        (
            "sources:\n  - name: a\n    provider: northflank\n    token: t\n    base_url: ftp://x\n",
            ":5:15: sources[0].base_url: must be an http(s) URL",
        ),
        ("budgetz: []\n", ":1:1: top level: unknown key 'budgetz' (did you mean 'budgets'?)"),
        (
            BASE + "budgets:\n  - name: b\n    amount: lots\n    period: month\n    notify: [ops]\n",
            ":9:13: budgets[0].amount: 'lots' is not an amount",
        ),
        (
            BASE + "budgets:\n  - name: b\n    amount: 10\n    period: fortnight\n    notify: [ops]\n",
            ":10:13: budgets[0].period: must be 'day', 'week', 'month', 'quarter' or 'year'",
        ),
        (
            BASE + "budgets:\n  - name: b\n    amount: 10\n    period: month\n    notify: [opz]\n",
            ":11:14: budgets[0]: notify: unknown channel 'opz' (did you mean 'ops'?)",
        ),
        (
            BASE + "budgets:\n  - name: b\n    amount: 10\n    period: month\n    sources: [nff]\n    notify: [ops]\n",
            ":11:15: budgets[0]: sources: unknown source 'nff' (did you mean 'nf'?)",
        ),
        (
            BASE + "budgets:\n  - name: b\n    amount: 10\n    period: month\n    thresholds: [50, 0%]\n"
            "    notify: [ops]\n",
            ":11:22: budgets[0].thresholds[1]: '0%': a percentage must be above zero",
        ),
        (
            BASE + "anomalies:\n  - name: a\n    direction: sideways\n    notify: [ops]\n",
            ":9:16: anomalies[0].direction: must be 'up', 'down' or 'both'",
        ),
        (
            BASE.replace("channels:", "  - name: nf\n    provider: csv\n    path: a.csv\nchannels:"),
            ":5:11: sources[1]: duplicate source name 'nf'",
        ),
        (
            BASE.replace("tok-123456", "${NOPE}"),
            ":4:12: sources[0].token: environment variable NOPE is not set",
        ),
        ("metrics:\n  listen: 9464\n", ":2:11: metrics.listen: must be text, not a number"),
        ("metrics: {listen: localhost}\n", ":1:19: metrics.listen: listen must be host:port"),
        ("metrics: {listen: 127.0.0.1:9464, port: 1}\n", ":1:35: metrics: unknown key 'port'"),
        ("web: {listen: nowhere}\n", ":1:15: web.listen: listen must be host:port"),
        ("web:\n  auth: {}\n", ":2:9: web.auth: auth takes one of token or password"),
        ("web:\n  auth: {token: a, password: b}\n", ":2:9: web.auth: auth takes one of token or password"),
        ("web:\n  auth: {user: a}\n", ":2:10: web.auth: unknown key 'user'"),
        ("web: {public_url: ftp://x}\n", ":1:19: web.public_url: "),
        ("sources: [1, 2\n", ":1:15: invalid YAML: expected ',' or ']' here (in the list opened at 1:10)"),
        ("a: 1\na: 2\n", ":2:1: invalid YAML: duplicate key 'a'"),
        ("- just\n- a list\n", ":1:1: the file must be a mapping"),
    ],
)
def test_each_error_names_file_line_column(write, text: str, expected: str) -> None:
    path = write("rules.yaml", text)
    lines = errors_of(path)
    assert any(line.startswith(str(path) + expected.split(":", 3)[0]) and expected in line for line in lines), lines


def test_all_errors_are_reported_at_once_in_file_order(write) -> None:
    path = write(
        "rules.yaml",
        """
        timezone: Nowhere/Land
        sources:
          - name: nf
            provider: northflank
            token: t
            every: often
        budgets:
          - name: b
            amount: -1
            period: month
            notify: [missing]
        """,
    )
    lines = errors_of(path)
    assert [line.split(": ")[0] for line in lines] == [f"{path}:1:11", f"{path}:6:12", f"{path}:9:13", f"{path}:11:14"]


def test_two_northflank_sources_with_one_token_may_not_both_count_byoc(write) -> None:
    text = """
    sources:
      - {name: team-a, provider: northflank, token: same, team: a}
      - {name: team-b, provider: northflank, token: same, team: b}
    """
    lines = errors_of(write("rules.yaml", text))
    assert len(lines) == 1 and "byoc: false" in lines[0] and ":3:" in lines[0]
    fixed = text.replace("team: b}", "team: b, byoc: false}")
    loaded = config.load(write("fixed.yaml", fixed), {})
    assert [s.byoc for s in loaded.config.sources] == [True, False]


def test_friendli_needs_usd(write) -> None:
    lines = errors_of(write("rules.yaml", "currency: EUR\nsources:\n  - {name: f, provider: friendli, token: t}\n"))
    assert "friendli reports USD" in lines[0]


def test_env_and_credentials_directory_fill_placeholders(write, tmp_path: Path) -> None:
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "FR_TOKEN").write_text("flp_from_file\n")
    path = write(
        "rules.yaml",
        """
        sources:
          - {name: nf, provider: northflank, token: "${NF_TOKEN}"}
          - {name: fr, provider: friendli, token: "${FR_TOKEN}", team: "t-$$1"}
        """,
    )
    cfg = config.load(path, {"NF_TOKEN": "nf_from_env", "CREDENTIALS_DIRECTORY": str(creds)}).config
    assert cfg.sources[0].token.get_secret_value() == "nf_from_env"
    assert cfg.sources[1].token.get_secret_value() == "flp_from_file"
    assert cfg.sources[1].team == "t-$1"
    assert "nf_from_env" not in repr(cfg) and "flp_from_file" not in repr(cfg)


def test_defaults_and_normalisation(write, tmp_path: Path) -> None:
    path = write(
        "sub/rules.yaml",
        """
sources:
  - {name: nf, provider: northflank, token: t}
  - {name: fr, provider: friendli, token: t, every: 1m}
  - {name: c, provider: csv, path: data/costs.csv}
channels:
  ops: json://127.0.0.1:9/hook
budgets:
  - {name: b, amount: "1,999.99", period: month, thresholds: [100, "80%", 50, 80], notify: [ops]}
""",
    )
    cfg = config.load(path, {}).config
    nf, fr, csv = cfg.sources
    assert (nf.every, nf.lookback, nf.unit, nf.base_url) == (
        timedelta(minutes=15),
        timedelta(hours=24),
        "cents",
        "https://api.northflank.com",
    )
    assert fr.every == timedelta(minutes=5)  # Friendli asks for 5 minutes between calls
    assert csv.path == tmp_path / "sub" / "data" / "costs.csv"
    assert cfg.database == Path("alertd.db")
    assert cfg.budgets[0].amount == Decimal("1999.99")
    assert cfg.budgets[0].thresholds == (Decimal(50), Decimal(80), Decimal(100))


def test_database_default_follows_systemd_state_directory(write) -> None:
    path = write("rules.yaml", "{}\n")
    assert config.load(path, {"STATE_DIRECTORY": "/var/lib/alertd"}).config.database == Path(
        "/var/lib/alertd/alertd.db"
    )


@pytest.mark.parametrize("command", ["check", "report", "status", "backfill"])
def test_database_in_missing_directory_is_config_error(write, tmp_path: Path, command: str) -> None:
    missing = tmp_path / "no" / "such"
    rules = write("rules.yaml", f"timezone: UTC\ndatabase: {missing}/alertd.db\n")
    result = run_cli(command, "-c", str(rules))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip() == (
        f"{rules}:2:11: database: the directory {missing} does not exist; alertd creates the database file,"
        " not its directory"
    )
    assert not (tmp_path / "no").exists()
    assert run_cli("validate", "-c", str(rules)).returncode == 0  # the host's business: validate may run in CI


def test_alertd_database_in_missing_directory_is_named_by_the_variable(write, tmp_path: Path) -> None:
    rules = write("rules.yaml", "database: costs.db\n")
    result = run_cli("check", "-c", str(rules), env={"ALERTD_DATABASE": str(tmp_path / "no" / "a.db")})
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"ALERTD_DATABASE: the directory {tmp_path / 'no'} does not exist;")
    assert not (tmp_path / "no").exists() and not (tmp_path / "costs.db").exists()


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("15m", 900), ("1h", 3600), ("2d", 172800), ("1h30m", 5400), ("1w", 604800)],
)
def test_durations(text: str, seconds: int) -> None:
    assert config.parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "0s", "5", "1 h", "h", "-1h", "1.5h"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError):
        config.parse_duration(text)


def test_config_file_lookup_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert config.find_config("x.yaml", {"ALERTD_CONFIG": "y.yaml"}) == Path("x.yaml")
    assert config.find_config(None, {"ALERTD_CONFIG": "y.yaml"}) == Path("y.yaml")
    (tmp_path / "rules.yaml").write_text("{}")
    assert config.find_config(None, {}) == Path("rules.yaml")


def test_validate_cli_ok_and_errors(write) -> None:
    good = write("good.yaml", BASE)
    result = run_cli("validate", "-c", str(good))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok: ") and "1 source" in result.stdout

    bad = write("bad.yaml", BASE.replace("provider: northflank", "provider: northflank\n    evry: 1h"))
    result = run_cli("validate", "-c", str(bad))
    assert result.returncode == 2
    assert result.stderr.strip() == f"{bad}:4:5: sources[0]: unknown key 'evry' (did you mean 'every'?)"
    assert "Traceback" not in result.stderr


def test_validate_cli_never_prints_a_secret(write) -> None:
    canary = "canary-secret-7f3a9"
    bad = write("bad.yaml", "sources:\n  - {name: nf, provider: northflank, token: '${TOK}', every: nope}\n")
    result = run_cli("validate", "-c", str(bad), env={"TOK": canary})
    assert result.returncode == 2
    assert canary not in result.stdout + result.stderr


def test_missing_config_file_is_a_clear_error(tmp_path: Path) -> None:
    result = run_cli("validate", "-c", str(tmp_path / "nope.yaml"))
    assert result.returncode == 2
    assert "nope.yaml: cannot read" in result.stderr and "Traceback" not in result.stderr


def test_the_example_file_validates_without_secrets() -> None:
    result = run_cli("validate", "-c", str(ROOT / "rules.example.yaml"), "--allow-missing-env")
    assert result.returncode == 0, result.stderr
    assert "NORTHFLANK_TOKEN" in result.stdout
    strict = run_cli("validate", "-c", str(ROOT / "rules.example.yaml"))
    assert strict.returncode == 2 and "NORTHFLANK_TOKEN is not set" in strict.stderr


def test_defaults_fill_what_rules_leave_out(write) -> None:
    path = write(
        "rules.yaml",
        """
        channels: {chat: "json://127.0.0.1:9/a", pager: "json://127.0.0.1:9/b"}
        defaults: {notify: [chat], repeat: 1d, cooldown: 3h, send_resolved: true}
        budgets:
          - {name: a, amount: 10, period: month}
          - {name: b, amount: 10, period: month, notify: [pager], repeat: 2h}
        anomalies:
          - {name: c}
        """,
    )
    cfg = config.load(path, {}).config
    a, b = cfg.budgets
    (c,) = cfg.anomalies
    assert (a.notify, a.repeat) == (("chat",), timedelta(days=1))
    assert (b.notify, b.repeat) == (("pager",), timedelta(hours=2))
    assert (c.notify, c.cooldown, c.send_resolved) == (("chat",), timedelta(hours=3), True)


def test_defaults_min_impact_is_one_floor_for_every_anomaly(write) -> None:
    path = write(
        "rules.yaml",
        """
        channels: {chat: "json://127.0.0.1:9/a"}
        defaults: {notify: [chat], min_impact: "12.50"}
        anomalies:
          - {name: a}
          - {name: b, min_impact: 0}
        """,
    )
    a, b = config.load(path, {}).config.anomalies
    assert (a.min_impact, b.min_impact) == (Decimal("12.50"), Decimal(0))
    unset = write("unset.yaml", 'channels: {chat: "json://127.0.0.1:9/a"}\nanomalies: [{name: c, notify: [chat]}]\n')
    assert config.load(unset, {}).config.anomalies[0].min_impact is None  # the documented default applies later
    bad = write("bad.yaml", "defaults: {min_impact: lots}\n")
    assert errors_of(bad) == [f"{bad}:1:24: defaults.min_impact: 'lots' is not an amount (write 2000 or 1999.99)"]


def test_unknown_channels_in_defaults_and_severity_routes_are_reported(write) -> None:
    path = write(
        "rules.yaml",
        """
        channels: {chat: "json://127.0.0.1:9/a"}
        defaults: {notify: [chta]}
        budgets:
          - {name: a, amount: 10, period: month, notify: {info: [chat], critical: [pagr]}}
        """,
    )
    lines = errors_of(path)
    assert any(":2:21: defaults.notify: unknown channel 'chta' (did you mean 'chat'?)" in line for line in lines), lines
    assert any(":4:76: budgets[0]: notify: unknown channel 'pagr'" in line for line in lines), lines


@pytest.mark.parametrize(
    ("severity", "channels"),
    [("info", ("chat",)), ("warning", ("chat", "mail")), ("critical", ("chat", "mail", "pager"))],
)
def test_routing_by_minimum_severity(severity: str, channels: tuple[str, ...]) -> None:
    notify = {"info": ("chat",), "warning": ("mail", "chat"), "critical": ("pager",)}
    assert config.route(notify, severity) == channels
    assert config.route(("x",), severity) == ("x",)


@pytest.mark.parametrize(
    ("listen", "address"),
    [("127.0.0.1:9464", ("127.0.0.1", 9464)), ("[::1]:9100", ("::1", 9100)), ("0.0.0.0:80", ("0.0.0.0", 80))],
)
def test_metrics_listen_addresses(listen: str, address: tuple[str, int]) -> None:
    assert config.Metrics(listen=listen).address == address
