"""The `web:` section: its defaults, its listener, and its auth secrets, which come through
`${VAR}`, are masked like every other secret and may not be empty."""

from __future__ import annotations

from pathlib import Path

import pytest

from alertd import config
from tests.conftest import run_cli

TOKEN = "web-token-canary-4417"
PASSWORD = "web-pw canary:9920"  # a password may hold a space and a colon (basic auth splits at the first)


def load(path: Path, env: dict[str, str] | None = None) -> config.Config:
    return config.load(path, env or {}).config


def errors_of(path: Path, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(config.ConfigError) as caught:
        config.load(path, env or {})
    return caught.value.lines


def test_without_a_web_section_there_is_no_dashboard_config(write) -> None:
    assert load(write("rules.yaml", "timezone: UTC\n")).web is None


def test_an_empty_web_section_listens_on_loopback(write) -> None:
    web = load(write("rules.yaml", "web: {}\n")).web
    assert web is not None
    assert (web.listen, web.address, web.public_url, web.auth) == ("127.0.0.1:8080", ("127.0.0.1", 8080), None, None)


def test_an_ipv6_listener_drops_its_brackets(write) -> None:
    web = load(write("rules.yaml", 'web: {listen: "[::1]:9000", public_url: "https://costs.example.com/"}\n')).web
    assert web is not None and web.address == ("::1", 9000) and web.public_url == "https://costs.example.com/"


@pytest.mark.parametrize(("key", "secret"), [("token", TOKEN), ("password", PASSWORD)])
def test_auth_comes_from_the_environment_and_is_a_secret(write, key: str, secret: str) -> None:
    cfg = load(write("rules.yaml", f"web:\n  auth:\n    {key}: ${{SECRET}}\n"), {"SECRET": secret})
    assert cfg.web is not None and cfg.web.auth is not None
    assert getattr(cfg.web.auth, key).get_secret_value() == secret
    assert secret in cfg.secrets()  # so logs and errors mask it
    assert secret not in repr(cfg)


@pytest.mark.parametrize(
    ("text", "env", "expected"),
    [
        ("web:\n  auth:\n    token: ${T}\n", {}, ":3:12: web.auth.token: environment variable T is not set"),
        ("web:\n  auth:\n    token: ${T}\n", {"T": ""}, ":3:12: web.auth.token: an empty token would let anyone in"),
        ("web:\n  auth:\n    password: '  '\n", {}, ":3:15: web.auth.password: an empty password would let anyone in"),
        ("web:\n  auth:\n    token: a b\n", {}, ":3:12: web.auth.token: a token may hold only printable ASCII"),
        ("web:\n  listen: 127.0.0.1:0\n", {}, ":2:11: web.listen: listen must be host:port"),
        ("web:\n  listen: [a]\n", {}, ":2:11: web.listen: must be text"),
        ("web:\n  public_url: nowhere\n", {}, ":2:15: web.public_url: "),
        ("web:\n  port: 8080\n", {}, ":2:3: web: unknown key 'port'"),
    ],
)
def test_each_error_names_file_line_column(write, text: str, env: dict[str, str], expected: str) -> None:
    path = write("rules.yaml", text)
    lines = errors_of(path, env)
    assert any(line.startswith(f"{path}:") and expected in line for line in lines), lines


def test_an_error_never_quotes_the_secret(write) -> None:
    path = write("rules.yaml", "web:\n  auth:\n    token: ${T}\n  listen: ${T}\n")
    lines = errors_of(path, {"T": TOKEN})
    assert lines and not any(TOKEN in line for line in lines)
    assert any(":4:11: web.listen: listen must be host:port" in line and "(hidden)" in line for line in lines), lines


def test_validate_exits_2_and_keeps_the_secret(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("web:\n  auth:\n    token: ${T}\n    password: ${T}\n")
    result = run_cli("validate", "-c", str(path), env={"T": TOKEN})
    assert result.returncode == 2
    assert f"{path}:3:5: web.auth: auth takes one of token or password" in result.stderr
    assert TOKEN not in result.stderr + result.stdout


def test_a_bad_listen_flag_is_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(f"database: {tmp_path}/costs.db\n")
    result = run_cli("dashboard", "-c", str(path), "--listen", "8080")
    assert result.returncode == 2 and "--listen: listen must be host:port" in result.stderr, result.stderr
