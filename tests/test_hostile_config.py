"""Hostile rules files (issue 10): whatever a file holds, loading it gives a Config or a ConfigError
of `FILE:LINE:COL: message` lines, quickly, without quoting a secret; `alertd validate` exits 0 or 2
within 2 s and never prints a traceback."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alertd import config
from alertd.config import fast_yaml
from alertd.config.limits import MAX_DEPTH, MAX_VALUES
from alertd.config.values import http_url_problem
from alertd.config.yaml_tree import parse_yaml
from tests.conftest import ROOT, run_cli

EXAMPLE = (ROOT / "rules.example.yaml").read_text()
# Every variable the example uses, each a secret that no error message may show
ENV = {
    "NORTHFLANK_TOKEN": "nf-secret-token-8d1c",
    "FRIENDLI_TOKEN": "flp_secret-token-6a0e",
    "FRIENDLI_TEAM": "team-secret-4b7f",
    "SLACK_WEBHOOK_URL": "json://127.0.0.1:9/slack-secret-hook-2c9d",
    "SMTP_USER": "user-secret-3e5a",
    "SMTP_PASSWORD": "smtp-secret-pw-9f1b",
}
POSITIONED = re.compile(r".+:\d+:\d+: \S")


def bomb(levels: int = 9, width: int = 9, tail: str = "") -> str:
    """The "billion laughs": `width` aliases of `width` aliases of ... `levels` deep."""
    lines = [f"l0: &l0 [{', '.join(['lol'] * width)}]{tail}"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def errors_of(path: Path, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(config.ConfigError) as caught:
        config.load(path, env if env is not None else ENV)
    lines = caught.value.lines
    assert lines and all(POSITIONED.match(line) and line.startswith(str(path)) for line in lines), lines
    return lines


def only_error(path: Path, env: dict[str, str] | None = None) -> str:
    lines = errors_of(path, env)
    assert len(lines) == 1, lines
    return lines[0].removeprefix(f"{path}:")


def example_with(old: str, new: str) -> str:
    assert old in EXAMPLE, old
    return EXAMPLE.replace(old, new, 1)


# --- the reported problems, each by name -----------------------------------------------------------


def test_a_name_that_is_a_list_is_an_error_not_a_crash(write) -> None:
    path = write("rules.yaml", example_with("- name: northflank", "- name: [feed]"))
    assert any(":13:11: sources[0].name: must be text, not a list" in line for line in errors_of(path))
    rule = write("rule.yaml", example_with("- name: monthly-cloud", "- name: {a: 1}"))
    assert any("budgets[0].name: must be text, not a mapping" in line for line in errors_of(rule))


@pytest.mark.parametrize("tail", ["", "  # a tab in a comment\t sends the file to ruamel"])
def test_an_alias_bomb_is_refused_at_its_alias_on_either_reader(write, tail: str) -> None:
    text = bomb(tail=tail)
    if tail:
        with pytest.raises(fast_yaml.Unsupported):
            fast_yaml.read(text, "x.yaml")
    started = time.monotonic()
    error = only_error(write("rules.yaml", text))
    assert time.monotonic() - started < 1
    assert re.fullmatch(rf"\d:\d+: too many aliases: expanded, the file would hold more than {MAX_VALUES} .*", error)


def test_each_reader_counts_aliases_itself(write) -> None:
    with pytest.raises(config.ConfigError, match=r"x\.yaml:5:10: too many aliases"):
        fast_yaml.read(bomb(), "x.yaml")
    with pytest.raises(config.ConfigError, match=r"x\.yaml:5:10: too many aliases"):
        parse_yaml(bomb(), "x.yaml")


def test_aliases_a_file_needs_are_read(write) -> None:
    text = (
        "channels: {ops: 'json://127.0.0.1:9/'}\n"
        "defaults: {notify: &both [ops]}\n"
        "budgets:\n"
        "  - &monthly {name: a, amount: 10, period: month, notify: *both}\n"
        "  - {<<: *monthly, name: b}\n"
    )
    budgets = config.load(write("rules.yaml", text), {}).config.budgets
    assert [(b.name, b.notify) for b in budgets] == [("a", ("ops",)), ("b", ("ops",))]


def test_an_alias_inside_its_own_anchor_is_refused(write) -> None:
    assert (
        only_error(write("rules.yaml", "a: &a\n  b: [*a]\n"))
        == "2:7: the alias *a is inside the node it names, which makes a loop"
    )


@pytest.mark.parametrize(
    ("text", "at"),
    [
        ("a: " + "[" * 900 + "]" * 900 + "\n", f"1:{3 + MAX_DEPTH}"),  # the fast reader
        ("a:\n" + "- " * 900 + "x\n", f"2:{1 + 2 * (MAX_DEPTH - 1)}"),
        ("a: " + "{b: " * 900 + "1" + "}" * 900 + "  # \t\n", f"1:{4 + 4 * (MAX_DEPTH - 1)}"),  # ruamel
    ],
    ids=["flow-lists", "block-lists", "flow-mappings-read-by-ruamel"],
)
def test_nesting_past_the_limit_is_refused_where_it_goes_past(write, text: str, at: str) -> None:
    assert only_error(write("rules.yaml", text)) == f"{at}: nested more than {MAX_DEPTH} levels deep"


def test_the_heartbeat_url_that_killed_run_is_one_httpx_refuses() -> None:
    with pytest.raises(httpx.InvalidURL):
        httpx.Client().build_request("GET", "http://127.0.0.1:80:80/x")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:80:80/x",
        "http://127.0.0.1:99999/",
        "http://[::1/x",
        "http://h€llo.example/",
        "http:///path",
        "https://hc-ping.com/a b",
        "ftp://hc-ping.com/x",
    ],
)
def test_a_heartbeat_url_that_does_not_parse_is_refused_at_its_line(write, url: str) -> None:
    error = only_error(write("rules.yaml", f"monitoring:\n  heartbeat_url: '{url}'\n"), {})
    assert error.startswith("2:18: monitoring.heartbeat_url: must ") and url not in error


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(
    st.sampled_from(["http://", "https://", "http://u:p@", "https://[::1]", "http://127.0.0.1:"]),
    st.text(alphabet="hH:/.@[]%?#-_09aé€ \\!$&'()*+,;=~", max_size=14),
)
def test_a_url_the_check_accepts_is_one_httpx_requests(start: str, rest: str) -> None:
    url = start + rest
    if http_url_problem(url) is None:
        httpx.Client().build_request("GET", url)  # raises if httpx would not request it


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ('database: "a\\0b.db"\n', "1:11: database: a file path must not be empty nor hold a NUL character"),
        (
            'sources:\n  - {name: c, provider: csv, path: "x\\0.csv"}\n',
            "2:36: sources[0].path: a file path must not be empty nor hold a NUL character",
        ),
    ],
)
def test_a_nul_in_a_path_is_refused(write, text: str, error: str) -> None:
    assert only_error(write("rules.yaml", text), {}) == error


CHANNEL = "channels: {ops: 'json://127.0.0.1:9/'}\n"


@pytest.mark.parametrize(
    ("rule", "error"),
    [
        ("every: 99999999999999999999s", "a duration may be at most 10 years (3653d)"),
        ("every: 3654d", "a duration may be at most 10 years (3653d)"),
        ("amount: 1000000000000.01", "an amount may be at most 1000000000000 (10^12)"),
        ("amount: " + "9" * 5000, "invalid YAML: this cannot be read as a whole number"),
        ("amount: 0.0000001", "an amount may have at most 6 decimal places"),
        ("thresholds: [1e13]", "an amount may be at most 1000000000000 (10^12)"),
    ],
)
def test_durations_and_amounts_are_range_checked(write, rule: str, error: str) -> None:
    field = rule.split(":")[0]
    source = "sources:\n  - {name: c, provider: csv, path: a.csv, every: 1h}\n"
    budget = {"name": "b", "amount": "10", "period": "month", "notify": "[ops]", field: rule.split(": ", 1)[1]}
    if field == "every":
        text = source.replace("every: 1h", rule)
    else:
        text = CHANNEL + "budgets:\n  - {" + ", ".join(f"{k}: {v}" for k, v in budget.items()) + "}\n"
    assert only_error(write("rules.yaml", text), {}).endswith(error)


def test_the_largest_duration_and_amount_are_accepted(write) -> None:
    text = CHANNEL + "budgets:\n  - {name: b, amount: 1000000000000, period: year, notify: [ops], repeat: 3653d}\n"
    budget = config.load(write("rules.yaml", text), {}).config.budgets[0]
    assert (budget.amount, budget.repeat.days) == (10**12, 3653)


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("{% if x %}" * 300 + "{% endif %}" * 300, "body template, line 1: blocks nested more than 12 deep"),
        ("{{ " + "(" * 900 + "1" + ")" * 900 + " }}", "body template, line 1: brackets nested more than 12 deep"),
        ("{{ x" + "|upper" * 200 + " }}", "body template, line 1: a tag of more than 32 parts; split it up"),
        ("{% for a in x %}" * 21 + "{% endfor %}" * 21, "body template, line 1: blocks nested more than 12 deep"),
        ("x" * 10_001, "body template, line 1: longer than 10000 characters"),
    ],
    ids=["ifs", "parentheses", "filters", "fors", "long"],
)
def test_a_template_too_deep_or_too_long_to_compile_quickly_is_refused(write, body: str, error: str) -> None:
    started = time.monotonic()
    text = CHANNEL + f"templates:\n  ops:\n    body: '{body}'\n"
    assert only_error(write("rules.yaml", text), {}) == f"4:11: templates.ops.body: {error}"
    assert time.monotonic() - started < 1


def test_the_templates_of_a_file_are_limited_in_all(write) -> None:
    names = [f"c{i}" for i in range(4)]
    text = "channels:\n" + "".join(f"  {n}: 'json://127.0.0.1:9/'\n" for n in names) + "templates:\n"
    text += "".join(f"  {n}:\n    body: '{'{{ text }}' * 900}'\n" for n in names)  # 9,000 characters each
    lines = errors_of(write("rules.yaml", text), {})
    assert [line.split(": ", 1)[1] for line in lines] == [
        "templates.c1.body: the file's templates hold more than 16000 characters in all",
        "templates.c2.body: the file's templates hold more than 16000 characters in all",
        "templates.c3.body: the file's templates hold more than 16000 characters in all",
    ]


def test_a_file_that_is_not_utf8_is_refused_at_the_byte(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_bytes("timezone: UTC\n# caf\xe9 ok\ncurrency: \xe9\n".encode("latin-1"))
    assert only_error(path) == "2:6: the file is not UTF-8 text (byte 0xe9); save it as UTF-8"


def test_a_file_too_large_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("# " + "x" * 300_000 + "\n")
    assert only_error(path) == "1:1: the file is larger than 256 KB, more than alertd reads"


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("sources: northflank\n", "1:10: sources: must be a list of sources, not text"),
        (
            CHANNEL + "budgets:\n  - {name: b, amount: 10, period: month, thresholds: 50, notify: [ops]}\n",
            "3:54: budgets[0].thresholds: must be a list of percentages, such as [50, 80, 100], not a number",
        ),
        (
            CHANNEL + "budgets:\n  - {name: b, amount: 10, period: month, notify: team}\n",
            "3:50: budgets[0].notify: must be a list of channel names, such as [ops], "
            "or lists per minimum severity, such as {info: [ops]}",
        ),
        (
            CHANNEL + "budgets:\n  - {name: b, amount: 10, period: month, notify: {critical: ops}}\n",
            "3:61: budgets[0].notify.critical: must be a list of channel names, such as [ops], not text",
        ),
        ("channels: [ops]\n", "1:11: channels: must be a mapping of channel names to Apprise URLs, not a list"),
        ("delivery: 5\n", "1:11: delivery: must be a mapping of keys, not a number"),
        ("sources:\n  - {name: 'a b', provider: csv, path: x}\n", "2:12: sources[0].name: a name may hold letters"),
    ],
    ids=["sources", "thresholds", "notify", "notify-severity", "channels", "section", "name"],
)
def test_errors_are_in_the_words_of_the_file(write, text: str, error: str) -> None:
    assert only_error(write("rules.yaml", text), {}).startswith(error)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("sources: [1, 2\n", "1:15: invalid YAML: expected ',' or ']' here (in the list opened at 1:10)"),
        ("sources: [1, 2\nbudgets: []\n", "1:15: invalid YAML: expected ',' or ']' here (in the list opened at 1:10)"),
        ("a: {b: 1  # a comment\n\n", "1:9: invalid YAML: expected ',' or '}' here (in the mapping opened at 1:4)"),
        ("a: 'open\nb: 1\n", "1:4: invalid YAML: while scanning a quoted scalar found unexpected end of stream"),
        ("a: 1\nb: x\x07\n", "2:5: invalid YAML: the character U+0007 is not allowed"),
        ("a: 2026-13-45\n", "1:4: invalid YAML: this cannot be read as a date or time"),
        ("? a:\n    - b\n: 1\n", "1:3: invalid YAML: a key may not hold a list"),
    ],
    ids=["bracket-at-end", "bracket-before-a-key", "brace", "quote", "control-character", "date", "list-in-a-key"],
)
def test_a_yaml_error_is_reported_where_it_is(write, text: str, error: str) -> None:
    assert only_error(write("rules.yaml", text), {}) == error


SECRET = "hunter2-secret-5e8c"


@pytest.mark.parametrize(
    ("text", "env"),
    [
        ("sources:\n  - name: a\n    provider: northflank\n    token: one-" + SECRET + "\n    token: two\n", {}),
        (f"sources:\n  - {{name: a, provider: northflank, token: t, base_url: 'ftp://u:{SECRET}@h'}}\n", {}),
        (f"sources:\n  - {{name: a, provider: northflank, token: t, base_url: 'http://u:{SECRET}@h:1:2'}}\n", {}),
        (f"monitoring:\n  heartbeat_url: 'https://hc-ping.com/{SECRET} x'\n", {}),
        ("sources:\n  - {name: a, provider: csv, path: x, every: '${POLL}'}\n", {"POLL": SECRET}),
        ("sources:\n  - {name: a, provider: csv, path: x, every: 'x${POLL}'}\n", {"POLL": SECRET}),
        ("timezone: ${TZ_SECRET}\n", {"TZ_SECRET": SECRET}),
        (CHANNEL + "budgets: [{name: b, amount: 1, period: month, notify: ['${CH}']}]\n", {"CH": SECRET}),
        ("sources:\n  - {name: a, provider: northflank, token: 'é" + SECRET + "'}\n", {}),
        ("channels: {ops: {url: '" + SECRET + "'}}\n", {}),
    ],
    ids=[
        "duplicate-token",
        "ftp-base-url",
        "bad-port",
        "heartbeat",
        "substituted-duration",
        "substituted-part",
        "substituted-zone",
        "substituted-channel",
        "token",
        "channel",
    ],
)
def test_errors_never_quote_a_secret(write, text: str, env: dict[str, str]) -> None:
    lines = errors_of(write("rules.yaml", text), env)
    assert not any(SECRET in line or SECRET[:12] in line for line in lines), lines


def test_a_reused_anchor_is_no_warning_that_prints_the_file(write) -> None:
    text = f"sources:\n  - {{name: a, provider: northflank, token: &t {SECRET}}}\ntimezone: &t UTC\nbad: 1\n"
    path = write("rules.yaml", text)
    result = run_cli("validate", "-c", str(path))
    assert result.returncode == 2 and SECRET not in result.stderr
    assert result.stderr.splitlines() == [f"{path}:4:1: top level: unknown key 'bad'"]


def test_validate_refuses_a_channel_url_apprise_cannot_use_without_quoting_it(write) -> None:
    text = (
        "channels:\n"
        f"  ops: 'json://127.0.0.1:9/{SECRET}'\n"
        f"  mail: ['mailto://u:{SECRET}@example.com?to=a@example.com', 'nope://{SECRET}@x', 'slack://{SECRET}']\n"
        f"  chat: 'tgram://{SECRET}'\n"
    )
    result = run_cli("validate", "-c", str(write("rules.yaml", text)))
    assert result.returncode == 2 and SECRET not in result.stdout + result.stderr
    assert [line.split(": ", 2)[1] for line in result.stderr.splitlines()] == [
        "channels.mail[1]",
        "channels.mail[2]",
        "channels.chat",
    ]
    assert result.stderr.splitlines()[0].endswith(":3:73: channels.mail[1]: Apprise cannot use this URL "
                                                  "(an unknown scheme, or a part of it missing or malformed); "
                                                  "the URL is not shown, as it may hold a secret")  # fmt: skip


def test_only_validate_and_the_daemon_load_apprise(write) -> None:
    path = write("rules.yaml", "channels: {ops: 'nope://x'}\n")
    code = f"import sys; from pathlib import Path; from alertd import config; config.load(Path({str(path)!r})); print('apprise' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"  # `check` and `status` load so, and accept the URL until delivery


def test_an_unset_variable_in_a_channel_url_is_not_judged_with_allow_missing_env() -> None:
    result = run_cli("validate", "-c", str(ROOT / "rules.example.yaml"), "--allow-missing-env")
    assert result.returncode == 0, result.stderr


# --- every input: a Config or a ConfigError ---------------------------------------------------------

JUNK = [
    "[feed]", "{a: 1}", "[]", "{}", "99999999999999999999s", "9" * 30, "-1", "null", "~", '"\\0"', "&a x",
    "*a", "*b", "!!binary aGk=", "!!int x", "2026-13-45", "1e400", ".inf", "0x1F", "[", "]", "{", "}", "'", '"',
    "|", ">", "- x", "? x", "%", "@", "`", "\t", "${NOPE}", "${SLACK_WEBHOOK_URL}", "http://h:80:80/x",
    "ftp://u:p@h", "yes", "1_000", "\x85", "\ufeff", "\x00", "{{ x", "{% if %}", "{{ ((((((((((((((x }}",
    "a: b: c", ":", "---", "...", "#", "!foo x", "1:2:3", "<<: *a", "&a [*a]", "é", "nope://x",
    '"\\ud800"', "0.0000001", "10000000000000",
]  # fmt: skip
LINES = EXAMPLE.splitlines(keepends=True)
edits = st.tuples(
    st.sampled_from(["value", "delete", "repeat", "insert", "cut", "indent"]),
    st.integers(0, len(LINES) - 1),
    st.integers(0, 200),
    st.sampled_from(JUNK),
)


def mutate(ops: list[tuple[str, int, int, str]]) -> str:
    lines = list(LINES)
    for op, i, at, junk in ops:
        i %= len(lines) or 1
        line = lines[i] if lines else ""
        at %= len(line) + 1
        if op == "value" and ":" in line:
            lines[i] = f"{line.partition(':')[0]}: {junk}\n"
        elif op == "delete" and lines:
            del lines[i]
        elif op == "repeat":
            lines.insert(i, lines[at % len(lines)] if lines else junk)
        elif op == "insert":
            lines[i : i + 1] = [line[:at] + junk + line[at:]]
        elif op == "cut":
            lines[i : i + 1] = [line[:at] + line[at + 1 :]]
        elif op == "indent":
            lines[i : i + 1] = [" " * (at % 5) + line]
    return "".join(lines)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hostile") / "rules.yaml"


class TooSlow(Exception):
    pass


@pytest.fixture(scope="module")
def alarm() -> Iterator[None]:
    """A load that takes over 2 s fails the example instead of hanging the test run."""

    def ring(signum: int, frame: object) -> None:
        raise TooSlow

    previous = signal.signal(signal.SIGALRM, ring)
    yield
    signal.signal(signal.SIGALRM, previous)


def loads_or_refuses(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    signal.setitimer(signal.ITIMER_REAL, 2.0)
    try:
        with config.checking_channel_urls():  # as `validate` loads: Apprise too judges what it is given
            config.load(path, ENV)
    except config.ConfigError as exc:
        assert exc.lines and all(POSITIONED.match(line) for line in exc.lines), exc.lines
        leaked = [line for line in exc.lines for secret in ENV.values() if secret in line]
        assert not leaked, leaked
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def hostile(examples: int) -> settings:
    """Deterministic (the same examples on every run, no database), and with no time limit per
    example but the 2 s alarm."""
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


@hostile(1000)
@given(st.lists(edits, min_size=1, max_size=5))
def test_any_mutation_of_the_example_loads_or_is_refused(scratch: Path, alarm: None, ops: list) -> None:
    loads_or_refuses(scratch, mutate(ops).encode())


@hostile(400)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=300))
def test_any_text_loads_or_is_refused(scratch: Path, alarm: None, text: str) -> None:
    loads_or_refuses(scratch, text.encode("utf-8", "surrogatepass"))


@hostile(300)
@given(st.binary(max_size=300))
def test_any_bytes_load_or_are_refused(scratch: Path, alarm: None, data: bytes) -> None:
    loads_or_refuses(scratch, data)


# --- the command line ---------------------------------------------------------------------------------

HOSTILE_FILES = {
    "name-list": example_with("- name: northflank", "- name: [feed]"),
    "alias-bomb": bomb(),
    "alias-bomb-ruamel": bomb(tail=" # \t"),
    "deep-yaml": "a: " + "[" * 900 + "]" * 900 + "\n",
    "deep-jinja": CHANNEL + "templates:\n  ops:\n    body: '" + "{% if x %}" * 300 + "{% endif %}" * 300 + "'\n",
    "huge-duration": example_with("every: 15m", "every: 99999999999999999999s"),
    "heartbeat": "monitoring:\n  heartbeat_url: http://127.0.0.1:80:80/x\n",
    "nul-database": 'database: "a\\0b.db"\n',
    "sources-scalar": "sources: northflank\n",
    "long-int": "a: " + "9" * 5000 + "\n",
    "bad-date": "a: 2026-13-45\n",
    "duplicate-tokens": "sources:\n  - name: a\n    provider: northflank\n    token: x1\n    token: x2\n",
    "many-values": "a: [" + "1, " * 20_000 + "1]\n",
    "empty": "",
    "not-a-mapping": "- a\n",
}


@pytest.mark.parametrize("text", HOSTILE_FILES.values(), ids=HOSTILE_FILES.keys())
def test_validate_answers_within_2_seconds_with_0_or_2_and_no_traceback(write, text: str) -> None:
    path = write("rules.yaml", text)
    started = time.monotonic()
    result = run_cli("validate", "-c", str(path), env=ENV, timeout=30)
    took = time.monotonic() - started
    assert result.returncode in (0, 2) and "Traceback" not in result.stderr, result.stderr
    assert took < 2, f"{took:.2f} s"
    assert all(POSITIONED.match(line) for line in result.stderr.splitlines()), result.stderr


def test_validate_on_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_bytes(b"timezone: \xff\xfe\n")
    result = run_cli("validate", "-c", str(path))
    assert (result.returncode, result.stderr.strip()) == (
        2,
        f"{path}:1:11: the file is not UTF-8 text (byte 0xff); save it as UTF-8",
    )
