"""The fast reader (libyaml) against ruamel's round-trip reading, which it stands in for."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alertd import config
from alertd.config import fast_yaml, loader
from alertd.config.yaml_tree import parse_yaml, plain
from tests.conftest import ROOT


def typed(value: Any) -> Any:
    """A value with the exact type of every scalar spelled out (True == 1 and 1 == 1.0 in Python)."""
    if isinstance(value, dict):
        return ("map", [(typed(k), typed(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("seq", [typed(v) for v in value])
    return (type(value), value)


def agrees_with_ruamel(text: str) -> bool:
    """What the fast reader reads, if it reads it, is what ruamel + `plain` gives; returns whether it read it."""
    try:
        fast = fast_yaml.read(text, "x.yaml")
    except fast_yaml.Unsupported:
        return False
    slow = parse_yaml(text, "x.yaml")  # a ConfigError here would mean libyaml took what ruamel refuses
    assert typed(plain(fast)) == typed(plain(slow)), text
    return True


RUAMEL = "left to ruamel"


@pytest.mark.parametrize(
    ("scalar", "value"),
    [
        ("yes", "yes"),  # YAML 1.1 booleans are strings in 1.2
        ("no", "no"),
        ("on", "on"),
        ("Off", "Off"),
        ("y", "y"),
        ("true", True),
        ("FALSE", False),
        ("09:00", "09:00"),  # no sexagesimal numbers in 1.2
        ("1:30:00", "1:30:00"),
        ("1h30m", "1h30m"),
        ("15m", "15m"),
        ("2d", "2d"),
        ("80%", "80%"),
        ("10", 10),
        ("-3", -3),
        ("+7", 7),
        ("0", 0),
        ("19.99", "19.99"),  # a float is read as its text, exact for Decimal fields
        ("1.", "1."),
        ("906538.24", "906538.24"),
        ("1234567890123.123456", "1234567890123.123456"),  # a binary float would round it
        ("~", None),
        ("null", None),
        ("", None),
        ("json://127.0.0.1:18999/", "json://127.0.0.1:18999/"),
        ("${SLACK_WEBHOOK_URL}", "${SLACK_WEBHOOK_URL}"),
        ("*gpu*", RUAMEL),  # an alias in YAML (to no anchor)
        ("012", 12),  # ruamel keeps its width, as an int subclass
        ("09", 9),
        ("0o17", RUAMEL),
        ("0x1F", RUAMEL),
        ("1_000", RUAMEL),
        ("1e3", RUAMEL),
        (".inf", RUAMEL),
        (".nan", RUAMEL),
        ("2026-11-01", RUAMEL),  # a date
        ("<<", RUAMEL),
        ("!!str 5", RUAMEL),
        ("&a 5", RUAMEL),
    ],
)
def test_plain_scalars_read_as_ruamel_reads_them(scalar: str, value: Any) -> None:
    text = f"key: {scalar}\n"
    if value == RUAMEL:
        with pytest.raises(fast_yaml.Unsupported):
            fast_yaml.read(text, "x.yaml")
    else:
        assert agrees_with_ruamel(text)
        assert typed(plain(fast_yaml.read(text, "x.yaml"))) == typed({"key": value})


@pytest.mark.parametrize(
    "text",
    [
        "a: 1\na: 2\n",  # ruamel refuses duplicate keys
        "%YAML 1.1\n---\na: yes\n",  # a YAML 1.1 document: yes is true there
        "a: 1\n---\nb: 2\n",  # two documents
        "- a\n",  # not a mapping
        "? [a, b]\n: 1\n",  # a key that is not a string
        "1: one\n",
        "true: x\n",
        "base: &b {a: 1}\nother: *b\n",
        "<<: {a: 1}\n",
        "a: !!int '5'\n",
        "sources: [1, 2\n",  # a syntax error: ruamel reports it, at its position
        # where libyaml and ruamel disagree (found by the properties below)
        "a: 1\t\n",
        "a: |#\n  x\n",
        "a: x\ry\n",
        "a: x\u2028y\n",
        "a: x\ufeffy\n",
        "a: >-\n  \n   x\n",
        "a: \n\n|- #x\n",
        "a: ['':0']\n",
        "a: ['' :0']\n",
        "a: [[b]: c]\n",  # a key that is not a string
    ],
)
def test_what_the_fast_reader_leaves_to_ruamel(text: str) -> None:
    with pytest.raises(fast_yaml.Unsupported):
        fast_yaml.read(text, "x.yaml")


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="0123456789-+._:eExXoObBacdfinlINFLuTtZ ~<=", min_size=1, max_size=12))
def test_plain_scalars_resolve_as_in_ruamels_yaml_1_2(scalar: str) -> None:
    agrees_with_ruamel(f"key: {scalar}\n")


@pytest.mark.parametrize(
    "text",
    [
        "\ufeffa: 1\n",  # a byte order mark
        "a: 1\r\nb: [x, y]\r\n",  # Windows line ends
        "---\n# comment\na: 1 # comment\n...\n",
        "a:\n- x\n- {b: c, d: [1, 2.5]}\n",
        "a: x\n  y\n\n  z\n",  # a plain scalar over lines
    ],
)
def test_ordinary_files_are_read_and_agree(text: str) -> None:
    assert agrees_with_ruamel(text)


def test_quoted_and_block_scalars_are_strings() -> None:
    text = 'a: \'10\'\nb: "true"\nc: |\n  line one\n  line two\nd: >-\n  folded\n  text\ne: "tab\\there \\u00e9"\n'
    assert agrees_with_ruamel(text)
    assert fast_yaml.read(text, "x.yaml") == {
        "a": "10",
        "b": "true",
        "c": "line one\nline two\n",
        "d": "folded text",
        "e": "tab\there é",
    }


SCALARS = [
    "yes", "no", "on", "off", "true", "True", "false", "null", "~", "", "0", "7", "-1", "+2", "012", "09",
    "0o7", "0x1f", "0b101", "1_0", "1.5", "-0.0", "1.", ".5", "1e3", "1.0e+3", "+.inf", ".NaN", "09:00",
    "1:30", "2026-11-01", "2026-11-01 10:00:00", "15m", "1h30m", "2d", "80%", "1,999.99", "a b", "<<", "=",
    "x:y", "a#b", "-", "?", "é", "json://h:1/x?y=1&z", "${TOKEN}", "$$1", "*.ml-train",
]  # fmt: skip
plain_scalars = st.one_of(
    st.sampled_from(SCALARS),
    st.text(alphabet="ab01-+._:%$ #'\"", min_size=1, max_size=8),
)
keys = st.one_of(st.sampled_from(["name", "amount", "notify", "a", "b", "yes", "1", "x y"]), plain_scalars)
trees = st.recursive(
    plain_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)),
    max_leaves=12,
)


def dump(tree: Any, indent: int, flow: bool, quote: str) -> str:
    """YAML text for a tree of unquoted scalars, block or flow; `quote` wraps every scalar (or none)."""

    def scalar(value: str) -> str:
        return f"{quote}{value}{quote}" if quote else value

    if not isinstance(tree, (dict, list)):
        return scalar(tree)
    if flow or not tree:
        if isinstance(tree, dict):
            return "{" + ", ".join(f"{scalar(k)}: {dump(v, 0, True, quote)}" for k, v in tree.items()) + "}"
        return "[" + ", ".join(dump(v, 0, True, quote) for v in tree) + "]"
    pad = " " * indent
    lines = []
    for k, v in tree.items() if isinstance(tree, dict) else ((None, v) for v in tree):
        head = f"{pad}{scalar(k)}:" if k is not None else f"{pad}-"
        if isinstance(v, (dict, list)) and v:
            lines.append(head + "\n" + dump(v, indent + 2, False, quote))
        else:
            lines.append(f"{head} {dump(v, 0, True, quote)}")
    return "\n".join(lines)


@settings(max_examples=300, deadline=None)
@given(
    tree=st.dictionaries(keys, trees, min_size=1, max_size=5), flow=st.booleans(), quote=st.sampled_from(["", "'", '"'])
)
def test_generated_documents_read_as_ruamel_reads_them(tree: dict[str, Any], flow: bool, quote: str) -> None:
    agrees_with_ruamel(dump(tree, 0, flow, quote) + "\n")


@settings(max_examples=500, deadline=None)
@given(
    st.sampled_from(["", "a: ", "a:\n  - ", "a:\n  b: ", "a: [", "a: {", "a: |", "a: >-\n  ", "a: '", 'a: "']),
    st.text(alphabet="ab1-:# \n'\"[]{},&*!|>%?\\\t\r\ufeff\x85", max_size=20),
)
def test_arbitrary_texts_read_as_ruamel_reads_them(start: str, rest: str) -> None:
    agrees_with_ruamel(start + rest)


SCALE_LIKE = """
timezone: Europe/Berlin
currency: USD
database: /var/lib/alertd/alertd.db
sources:
  - name: platform
    provider: csv
    path: /data/platform.csv
    every: 15m
channels:
  team: json://127.0.0.1:18999/
defaults:
  notify: [team]
budgets:
  - name: b000-month
    amount: 906538.24
    period: month
    forecast: [100]
  - name: b001-week
    amount: 732943.01
    period: week
    sources: ["platform"]
    line_items: ["*.ml-serve", "gpu.*"]
    thresholds: [80, 100, 120]
    summary: true
    repeat: 1d
anomalies:
  - name: a00-line_item
    by: line_item
    sources: ["platform"]
    sensitivity: 5
    min_impact: 20
    direction: both
"""


@pytest.mark.parametrize(
    ("text", "env"),
    [
        (
            (ROOT / "rules.example.yaml").read_text(),
            {"NORTHFLANK_TOKEN": "nf", "FRIENDLI_TOKEN": "fr", "SMTP_USER": "u"},
        ),
        (SCALE_LIKE, {}),
    ],
    ids=["rules.example.yaml", "scale-like"],
)
def test_the_fast_reader_gives_the_same_config(tmp_path: Path, text: str, env: dict[str, str]) -> None:
    env = {"FRIENDLI_TEAM": "t", "SLACK_WEBHOOK_URL": "json://h/a", "SMTP_PASSWORD": "p", **env}
    path = tmp_path / "rules.yaml"
    fast = loader.from_tree(fast_yaml.read(text, "x.yaml"), path, env)  # read here: a decline would fail the test
    slow = loader.from_tree(parse_yaml(text, str(path)), path, env)
    assert fast == slow
    assert fast.config.budgets and fast.config.sources


def test_a_file_with_a_problem_is_reported_at_ruamels_positions(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(SCALE_LIKE.replace("period: week", "period: fortnight"))
    assert fast_yaml.read(path.read_text(), str(path))  # the fast reader reads it; validation then fails
    with pytest.raises(config.ConfigError) as caught:
        config.load(path, {})
    assert caught.value.lines == [
        f"{path}:21:13: budgets[1].period: must be 'day', 'week', 'month', 'quarter' or 'year'"
    ]


@pytest.mark.parametrize(
    "notify",
    ["[x]", "&who [x]"],  # plain: the fast reader; with an anchor: ruamel reads it
)
def test_amounts_are_read_exactly_on_either_path(tmp_path: Path, notify: str) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(
        "channels: {x: 'json://127.0.0.1:9/'}\n"
        f"budgets:\n  - name: b\n    amount: 123456789012.123456\n    period: month\n    notify: {notify}\n"
    )
    assert str(config.load(path).config.budgets[0].amount) == "123456789012.123456"
