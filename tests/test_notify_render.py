from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from alertd.model import Alert, BudgetStatus, Contributor, Forecast
from alertd.notify.render import Message, render, render_test
from alertd.notify.words import period_label, sparkline, time_left

M = 1_000_000
BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 21, 21, 0, tzinfo=UTC)  # Saturday 22:00 in Berlin
FORMATS = ("text", "markdown", "html")


def sample_alert(**changes: object) -> Alert:
    """monthly-cloud at 80.1% of $2,000 on 21 Nov 2026; `changes` go to the alert or its status."""
    status = BudgetStatus(
        rule="monthly-cloud",
        currency="USD",
        amount=2_000 * M,
        spent=1_602 * M,
        period="month",
        period_start=datetime(2026, 10, 31, 23, tzinfo=UTC),  # 1 Nov, midnight in Berlin
        period_end=datetime(2026, 11, 30, 23, tzinfo=UTC),
        now=NOW,
        forecast=Forecast(projected=2_310 * M, run_out=datetime(2026, 11, 26, 14, tzinfo=UTC), method="seasonal"),
        previous_spent=1_290 * M,
        contributors=(
            Contributor("northflank", "paas cpu", 800 * M, 100 * M),
            Contributor("friendli", "llama-3 output tokens cost", 512_400_000, 312_400_000),
            Contributor("friendli", "<script>alert(1)</script>", 289_600_000, 0),
        ),
        drivers=(
            Contributor("friendli", "llama-3 output tokens cost", 512_400_000, 312_400_000),
            Contributor("northflank", "paas cpu", 800 * M, 100 * M),
            Contributor("friendli", "<script>alert(1)</script>", 289_600_000, 0),
        ),
        daily=(10 * M, 50 * M, 80 * M, 0, 120 * M),
    )
    alert = Alert(
        key="monthly-cloud/2026-11/budget/80",
        rule="monthly-cloud",
        kind="budget",
        threshold=Decimal("80"),
        severity="warning",
        repeat=0,
        notify=("ops",),
        status=status,
    )
    own = {k: v for k, v in changes.items() if k in Alert.__dataclass_fields__}
    return replace(alert, **own, status=replace(status, **{k: v for k, v in changes.items() if k not in own}))


def body(message: Message, fmt: str) -> str:
    return getattr(message, fmt)


KEY_FIGURES = [
    "WARNING",
    "monthly-cloud",
    "crossed 80%",
    "$1,602.00 of $2,000.00",
    "80.1%",
    "vs $1,290.00 at this point last period",
    "November 2026",
    "9 days 2 hours left",
    "$2,310.00 at period end (115.5%)",
    "runs out 26 Nov 15:00 CET",
    "▂▄▆▁█",
    "peak $120.00/day",
    "northflank / paas cpu",
    "$800.00",
    "49.9%",
    "+$312.40",
]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("figure", KEY_FIGURES)
def test_every_format_carries_the_key_figures(fmt: str, figure: str) -> None:
    assert figure in body(render(sample_alert(), BERLIN), fmt)


def test_title() -> None:
    assert (
        render(sample_alert(), BERLIN).title == "[alertd] monthly-cloud: crossed 80% of budget ($1,602.00 of $2,000.00)"
    )


def test_plain_text_reads_as_a_whole() -> None:
    assert render(sample_alert(), BERLIN).text == (
        "WARNING · monthly-cloud crossed 80% of its budget\n"
        "Spent:    $1,602.00 of $2,000.00 (80.1%), vs $1,290.00 at this point last period\n"
        "Period:   November 2026, 9 days 2 hours left\n"
        "Forecast: $2,310.00 at period end (115.5%), runs out 26 Nov 15:00 CET\n"
        "Daily:    ▂▄▆▁█ (peak $120.00/day)\n"
        "\n"
        "Top spend:\n"
        "  northflank / paas cpu                  $800.00  49.9%\n"
        "  friendli / llama-3 output tokens cost  $512.40  32.0%\n"
        "  friendli / <script>alert(1)</script>   $289.60  18.1%\n"
        "\n"
        "Change vs last period:\n"
        "  friendli / llama-3 output tokens cost  +$312.40\n"
        "  northflank / paas cpu                  +$100.00"
    )


@pytest.mark.parametrize(
    ("kind", "repeat", "threshold", "says"),
    [
        ("budget", 0, "80", "crossed 80%"),
        ("budget", 0, "87.50", "crossed 87.5%"),
        ("forecast", 0, "100", "forecast to cross 100%"),
        ("budget", 2, "80", "still over 80% (reminder 2)"),
        ("forecast", 1, "100", "still forecast to cross 100% (reminder 1)"),
    ],
)
def test_what_crossed_and_reminders(kind: str, repeat: int, threshold: str, says: str) -> None:
    message = render(sample_alert(kind=kind, repeat=repeat, threshold=Decimal(threshold)), BERLIN)
    assert message.title == f"[alertd] monthly-cloud: {says} of budget ($1,602.00 of $2,000.00)"
    assert message.text.splitlines()[0] == f"WARNING · monthly-cloud {says} of its budget"
    assert ("reminder" in message.markdown) == (repeat > 0)


@pytest.mark.parametrize("severity", ["info", "warning", "critical"])
def test_severity_leads_every_format(severity: str) -> None:
    message = render(sample_alert(severity=severity), BERLIN)
    assert message.text.startswith(severity.upper())
    assert message.markdown.startswith(f"**{severity.upper()}**")
    assert f"<strong>{severity.upper()}</strong>" in message.html


@pytest.mark.parametrize(
    ("spent", "amount", "shown"),
    [
        (1_602 * M, 2_000 * M, "80.1%"),
        (1_599_990_000, 2_000 * M, "80.0%"),  # 79.9995%: rounded for display; the decision stays exact
        (2_000 * M, 2_000 * M, "100.0%"),
        (1 * M, 3 * M, "33.3%"),
        (0, 2_000 * M, "0.0%"),
        (3_000_500_000, 2_000 * M, "150.0%"),
    ],
)
def test_percent_of_budget(spent: int, amount: int, shown: str) -> None:
    message = render(sample_alert(spent=spent, amount=amount), BERLIN)
    assert f"({shown})" in message.text
    assert f"(**{shown}**)" in message.markdown
    assert f"(<strong>{shown}</strong>)" in message.html


@pytest.mark.parametrize(
    ("spent", "shown"),
    [
        (1_697 * M, "84.9%"),  # 84.85%: half-up (floor and half-even say 84.8)
        (1_699 * M, "85.0%"),  # 84.95% (floor says 84.9)
        (1_698_999_999, "84.9%"),  # 84.94999995%: not a half
        (1_333_333_333, "66.7%"),  # 66.66666665% (floor says 66.6)
    ],
)
def test_percent_rounds_half_up_not_floor(spent: int, shown: str) -> None:
    # of $2,000: the spend and the forecast share one rounding
    message = render(sample_alert(spent=spent, forecast=Forecast(spent, None, "seasonal")), BERLIN)
    assert f"({shown}), vs" in message.text
    assert f"at period end ({shown})" in message.text


def top_spend(message: Message) -> list[tuple[str, str]]:
    """(line item, share) per row of the plain text's "Top spend" table."""
    table = message.text.split("Top spend:\n")[1].split("\n\n")[0]
    return [(line.split("  ")[1].strip(), line.split()[-1]) for line in table.splitlines()]


@pytest.mark.parametrize(
    ("amounts", "spent", "shares"),
    [
        ((800 * M, 512_400_000, 289_600_000), 1_602 * M, ["49.9%", "32.0%", "18.1%"]),  # floored: 99.8
        ((M, M, M), 3 * M, ["33.4%", "33.3%", "33.3%"]),  # each rounded: 99.9
        (
            (10 * M, 9 * M, 8 * M, 7 * M, 6 * M),
            49 * M,  # $9 more past the top five: the "other line items" row is apportioned too
            ["20.4%", "18.4%", "16.3%", "14.3%", "12.2%", "18.4%"],
        ),
        ((10 * M, -2 * M), 8 * M, ["125.0%", "-25.0%"]),  # a credit: each rounded on its own
    ],
)
def test_shares_add_up_to_100(amounts: tuple[int, ...], spent: int, shares: list[str]) -> None:
    items = tuple(Contributor("src", f"item-{i}", a, 0) for i, a in enumerate(amounts))
    rows = top_spend(render(sample_alert(spent=spent, contributors=items), BERLIN))
    assert [share for _, share in rows] == shares
    assert (rows[-1][0] == "other line items") == (len(rows) > len(amounts))
    if min(amounts) >= 0:
        assert sum(Decimal(share.rstrip("%")) for share in shares) == 100


@pytest.mark.parametrize(
    ("values", "line"),
    [
        ((), ""),
        ((0, 0, 0), "▁▁▁"),
        ((0, 1, 2, 3, 4, 5, 6, 7), "▁▂▃▄▅▆▇█"),
        ((5 * M,), "█"),
        ((-3 * M, 0, 6 * M), "▁▁█"),  # a credit is no spend
        ((10 * M, 50 * M, 80 * M, 0, 120 * M), "▂▄▆▁█"),
    ],
)
def test_sparkline(values: tuple[int, ...], line: str) -> None:
    assert sparkline(values) == line


def test_sparkline_in_each_format_and_absent_without_days() -> None:
    message = render(sample_alert(daily=(0, 0, 0)), BERLIN)
    assert "Daily:    ▁▁▁ (peak $0.00/day)" in message.text
    assert "`▁▁▁`" in message.markdown
    assert "<code>▁▁▁</code>" in message.html
    assert all("Daily" not in body(render(sample_alert(daily=()), BERLIN), fmt) for fmt in FORMATS)


@pytest.mark.parametrize(
    ("forecast", "says", "never"),
    [
        (None, None, "Forecast"),
        (
            Forecast(1_800 * M, None, "seasonal"),
            "$1,800.00 at period end (90.0%), not expected to run out this period",
            "runs out",
        ),
        (Forecast(2_400 * M, None, "seasonal"), "$2,400.00 at period end (120.0%)", "not expected"),  # already out
        (
            Forecast(2_310 * M, datetime(2026, 11, 26, 14, tzinfo=UTC), "run-rate"),
            "runs out 26 Nov 15:00 CET · run-rate estimate",
            "not expected",
        ),
    ],
)
def test_forecast_line(forecast: Forecast | None, says: str | None, never: str) -> None:
    message = render(sample_alert(forecast=forecast), BERLIN)
    for fmt in FORMATS:
        text = body(message, fmt)
        assert never not in text
        assert says is None or says in text
        assert "$1,602.00 of $2,000.00" in text and "November 2026" in text


@pytest.mark.parametrize(
    ("period", "start", "end", "label", "left"),
    [
        (
            "day",
            datetime(2026, 11, 20, 23, tzinfo=UTC),
            datetime(2026, 11, 21, 23, tzinfo=UTC),
            "21 Nov 2026",
            "2 hours left",
        ),
        (
            "week",
            datetime(2026, 11, 15, 23, tzinfo=UTC),
            datetime(2026, 11, 22, 23, tzinfo=UTC),
            "week of 16 Nov 2026",
            "1 day 2 hours left",
        ),
        (
            "month",
            datetime(2026, 10, 31, 23, tzinfo=UTC),
            datetime(2026, 11, 30, 23, tzinfo=UTC),
            "November 2026",
            "9 days 2 hours left",
        ),
        (
            "quarter",
            datetime(2026, 9, 30, 22, tzinfo=UTC),
            datetime(2026, 12, 31, 23, tzinfo=UTC),
            "Q4 2026",
            "40 days 2 hours left",
        ),
        (
            "year",
            datetime(2025, 12, 31, 23, tzinfo=UTC),
            datetime(2026, 12, 31, 23, tzinfo=UTC),
            "2026",
            "40 days 2 hours left",
        ),
    ],
)
def test_period_labels_in_berlin(period: str, start: datetime, end: datetime, label: str, left: str) -> None:
    # Every start is the day before in UTC: the label must come from Berlin's calendar.
    assert period_label(period, start, BERLIN) == label
    message = render(sample_alert(period=period, period_start=start, period_end=end), BERLIN)
    assert f"Period:   {label}, {left}" in message.text


@pytest.mark.parametrize(
    ("left", "says"),
    [
        (timedelta(days=9, hours=2, minutes=59), "9 days 2 hours left"),
        (timedelta(days=1, minutes=30), "1 day left"),
        (timedelta(hours=1, minutes=1), "1 hour 1 minute left"),
        (timedelta(minutes=5, seconds=59), "5 minutes left"),
        (timedelta(seconds=59), "under a minute left"),
        (timedelta(0), "period ended"),
        (timedelta(hours=-1), "period ended"),
    ],
)
def test_time_left(left: timedelta, says: str) -> None:
    assert time_left(NOW, NOW + left) == says


def test_dynamic_text_is_escaped() -> None:
    message = render(sample_alert(rule="a&b_c"), BERLIN)
    assert "<script>" not in message.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in message.html
    assert "<strong>a&amp;b_c</strong>" in message.html
    assert "\\<script\\>alert(1)\\</script\\>" in message.markdown
    assert "**a&b\\_c**" in message.markdown
    assert "<script>alert(1)</script>" in message.text


def test_at_most_five_contributors_and_three_nonzero_drivers() -> None:
    items = tuple(
        Contributor("src", f"item-{i}", (10 - i) * M, change * M) for i, change in enumerate([0, 5, -3, 0, 2, 1, 9])
    )
    message = render(sample_alert(spent=49 * M, contributors=items, drivers=items), BERLIN)
    top, _, moved = message.text.partition("Change vs last period:")
    assert [f"src / item-{i}" in top for i in range(7)] == [True] * 5 + [False] * 2
    assert [line.split()[-1] for line in moved.strip().splitlines()] == ["+$5.00", "-$3.00", "+$2.00"]
    assert "src / item-0 " not in moved  # a zero change says nothing


def test_no_contributors_no_tables() -> None:
    message = render(sample_alert(contributors=(), drivers=()), BERLIN)
    for fmt in FORMATS:
        assert "Top spend" not in body(message, fmt) and "Change vs" not in body(message, fmt)


def test_other_currency() -> None:
    message = render(sample_alert(currency="EUR"), BERLIN)
    assert "€1,602.00 of €2,000.00" in message.title
    assert "+€312.40" in message.markdown


def test_notify_test_message() -> None:
    message = render_test(BERLIN, datetime(2026, 11, 21, 21, 15, tzinfo=UTC))
    assert message.title == "[alertd] test notification"
    for fmt in FORMATS:
        assert "21 Nov 2026 22:15 CET" in body(message, fmt)
        assert "▁▂▃▄▅▆▇█" in body(message, fmt)
    summer = render_test(BERLIN, datetime(2026, 7, 1, 10, 0, tzinfo=UTC))
    assert "1 Jul 2026 12:00 CEST" in summer.text


# --- anomalies ---------------------------------------------------------------------------------


def anomaly_alert(resolved: bool = False, **changes: object) -> Alert:
    from alertd.model import AnomalyStatus

    status = AnomalyStatus(
        rule="gpu-watch",
        currency="USD",
        source="northflank",
        line_item="paas.gpu",
        step=3600,
        bucket_start=datetime(2026, 11, 21, 13, tzinfo=UTC),
        value=12_400_000,
        expected=3_100_000,
        low=2_500_000,
        high=3_900_000,
        reason="spike",
        event_start=datetime(2026, 11, 21, 11, tzinfo=UTC),
        drivers=(Contributor("northflank", "<gpu>", 12_400_000, 9_300_000),),
        month_cost=2_008_800_000,
        resolved=resolved,
    )
    status = replace(status, **changes)
    return Alert(
        "k",
        "gpu-watch",
        "resolved" if resolved else "anomaly",
        None,
        "info" if resolved else "warning",
        0,
        ("x",),
        status,
    )


def test_anomaly_message_says_what_how_big_and_what_drove_it() -> None:
    message = render(anomaly_alert(), BERLIN)
    assert message.title == "[alertd] gpu-watch: unusual spend on northflank / paas.gpu, $12.40/h vs $3.10"
    for figure in (
        "21 Nov 2026 14:00–15:00 CET",
        "$12.40/h",
        "expected $3.10/h",
        "$2.50 to $3.90/h",
        "+$9.30/h (+300.0%)",
        "+$2,008.80 by the end of November",
        "Since",
    ):
        assert figure in message.text, figure
    assert "&lt;gpu&gt;" in message.html and "<gpu>" not in message.html
    assert "\\<gpu\\>" in message.markdown


@pytest.mark.parametrize(
    ("value", "relative"),
    [
        (11_225_000, "(+12.3%)"),  # +12.25%: half-up (half-even says 12.2)
        (8_775_000, "(-12.3%)"),  # -12.25%: a half away from zero, the mirror of a rise
        (10_000_001, "(0.0%)"),  # +0.00001%: no sign on what reads as zero
    ],
)
def test_anomaly_deviation_percent_rounds_half_up(value: int, relative: str) -> None:
    assert f"/h {relative}" in render(anomaly_alert(value=value, expected=10 * M), BERLIN).text


@pytest.mark.parametrize(
    ("changes", "title"),
    [
        ({"reason": "ramp"}, "spend rising steadily on northflank / paas.gpu"),
        ({"reason": "new", "expected": 0}, "new spend on northflank / paas.gpu"),
        ({"source": None, "line_item": None}, "unusual spend on total spend"),
        ({"line_item": None}, "unusual spend on northflank (all line items)"),
        ({"step": 86400}, "$12.40/day vs $3.10"),
        ({"reason": "peak"}, "spend higher than any hour in two months on northflank / paas.gpu"),
        ({"reason": "trough", "value": 400_000}, "spend lower than any hour in two months on northflank"),
    ],
)
def test_anomaly_titles(changes: dict[str, object], title: str) -> None:
    assert title in render(anomaly_alert(**changes), BERLIN).title


def test_a_new_spend_message_says_from_zero_and_a_resolved_one_is_short() -> None:
    new = render(anomaly_alert(reason="new", expected=0, low=0, high=0), BERLIN)
    assert "(from zero)" in new.text
    assert "Usual range" not in new.text  # none known yet: no "$0.00 to $0.00"
    assert "Usual range" in render(anomaly_alert(), BERLIN).text
    resolved = render(anomaly_alert(resolved=True), BERLIN)
    assert resolved.title == "[alertd] gpu-watch: northflank / paas.gpu back to normal"
    assert "RESOLVED" in resolved.text and "If it continues" not in resolved.text


def test_a_digest_of_hundreds_lists_the_worst_and_counts_the_rest() -> None:
    from alertd.notify.render import DIGEST_LINES, render_digest

    alerts = [("info", f"[alertd] b{i}: crossed 50%") for i in range(180)]
    alerts += [("critical", f"[alertd] c{i}: crossed 100%") for i in range(20)]
    message = render_digest(alerts)
    assert message.title == "[alertd] 200 alerts (20 critical, 180 info)"
    assert message.text.count("crossed 100%") == DIGEST_LINES  # the worst first, capped
    assert "crossed 50%" not in message.text
    assert f"and {200 - DIGEST_LINES} more" in message.text
