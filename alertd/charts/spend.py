"""A report's chart (pure): spend per day (or month) over its range as bars, stacked by the
report's other keys (its largest six groups, the rest as one), with a legend."""

from __future__ import annotations

from collections import defaultdict

from alertd.charts.scene import WIDTH, Chart, Mark, Scale, legend, money_axis, nice, time_labels
from alertd.money import decimal_string, format_money
from alertd.report import Report

STACKED = 6  # groups drawn on their own; the rest is "other"
SERIES = tuple(f"s{i}" for i in range(STACKED + 1))  # their classes in STYLES, the last for "other"


def spend_chart(report: Report) -> Chart:
    """`report` must be grouped by day or month (its time key); its other keys make the stacks."""
    time = "month" if "month" in report.keys else "day"
    at = report.keys.index(time)
    per: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))  # time → group → amount
    totals: dict[str, int] = defaultdict(int)
    for values, amount in report.rows:
        group = " / ".join(v for i, v in enumerate(values) if i != at) or "spend"
        per[values[at]][group] += amount
        totals[group] += amount
    ranked = sorted(totals, key=lambda g: (-totals[g], g))
    shown = ranked if len(ranked) <= STACKED + 1 else ranked[:STACKED]  # "other" only for two or more
    kept = {g: SERIES[min(i, STACKED)] for i, g in enumerate(shown)}
    other = [g for g in ranked if g not in kept]
    buckets = sorted(per)
    money = report.currency
    stacks = [[(g, per[b][g]) for g in shown] + [("other", sum(per[b][g] for g in other))] for b in buckets]
    tallest = max([sum(max(a, 0) for _, a in s) for s in stacks] + [1])
    names = [*shown, *(["other"] if other else [])]
    scale = Scale(max(len(buckets), 1), nice(tallest * (12 + len(names) // 3) // 10))  # room for the legend
    marks = [*money_axis(scale, lambda v: format_money(v, money))]
    every = max(1, len(buckets) // 8)
    marks += time_labels(scale, [(i + 0.5, b[5:] if time == "day" else b) for i, b in enumerate(buckets)][::every])
    width = scale.x(1) - scale.x(0)
    for i, (bucket, stack) in enumerate(zip(buckets, stacks, strict=True)):
        base = 0
        for group, amount in stack:
            if amount <= 0:
                continue  # a credit draws no bar below the axis; its figure is in the report
            css = kept.get(group, SERIES[-1])
            x = scale.x(i) + min(1, width / 4)
            corners = ((x, scale.y(base + amount)), (x + max(width - 2 * min(1, width / 4), 0.5), scale.y(base)))
            said = f"{bucket} {group}: {format_money(amount, money)}"
            data = (("bucket", bucket), ("group", group), ("amount", decimal_string(amount)))
            marks.append(Mark("rect", css, corners, title=said, data=data))
            base += amount
    marks += legend([(kept.get(g, SERIES[-1]), g[:40]) for g in names])
    period = f"{report.since:%Y-%m-%d} to {report.until:%Y-%m-%d}"
    words = f"Spend per {time}, {period}: {format_money(report.total, money)} in all"
    if len(names) > 1:
        words += "; largest: " + ", ".join(f"{g} {format_money(totals[g], money)}" for g in shown[:3])
    return Chart("spend", (WIDTH, 260), words, tuple(marks))
