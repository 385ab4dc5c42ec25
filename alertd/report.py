"""Spend over a range, grouped by source, line item, day and/or month in the configured zone."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from alertd.model import utc
from alertd.money import decimal_string, format_money
from alertd.store import Store

KEYS = ("source", "line_item", "day", "month")
EPOCH = date(1970, 1, 1).toordinal()


class ReportError(Exception):
    pass


@dataclass(frozen=True)
class Report:
    currency: str
    since: datetime
    until: datetime
    keys: tuple[str, ...]
    rows: list[tuple[tuple[str, ...], int]]  # group values in `keys` order, micro-units
    total: int

    def as_json(self) -> dict[str, object]:
        return {
            "currency": self.currency,
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "rows": [
                {**dict(zip(self.keys, values, strict=True)), "amount": decimal_string(a)} for values, a in self.rows
            ],
            "total": decimal_string(self.total),
        }

    def as_table(self) -> str:
        head = [*self.keys, "amount"]
        body = [[*values, format_money(a, self.currency)] for values, a in self.rows]
        body.append(
            ["total", *[""] * (len(self.keys) - 1), format_money(self.total, self.currency)] if self.keys else []
        )
        widths = [max(len(str(r[i])) for r in [head, *body] if r) for i in range(len(head))]

        def line(cells: list[str]) -> str:
            left = [c.ljust(w) for c, w in zip(cells[:-1], widths, strict=False)]
            return "  ".join([*left, cells[-1].rjust(widths[-1])]).rstrip()

        rule = "  ".join("-" * w for w in widths)
        title = f"Spend {self.since.isoformat()} .. {self.until.isoformat()} ({self.currency})"
        if not self.keys:
            return f"{title}\ntotal  {format_money(self.total, self.currency)}"
        return "\n".join([title, line(head), rule, *(line(r) for r in body[:-1]), rule, line(body[-1])])


def build_report(
    store: Store,
    since: datetime,
    until: datetime,
    keys: tuple[str, ...],
    tz: ZoneInfo,
    currency: str,
) -> Report:
    """Whole local days come summed from the rollup; only the cut days at either end from cost rows."""
    unknown = [k for k in keys if k not in KEYS]
    if unknown:
        raise ReportError(f"unknown --by key(s) {', '.join(unknown)}; choose from {', '.join(KEYS)}")
    start, end = int(since.timestamp()), int(until.timestamp())
    by_day = "day" in keys or "month" in keys
    labels: dict[int, tuple[str, str]] = {}  # local day → (day, month), computed once each
    sums: dict[tuple[str, ...], int] = defaultdict(int)
    found: set[str] = set()
    total = 0
    for source, item, day, row_currency, amount in store.sums.totals(start, end, by_day=by_day):
        found.add(row_currency)
        named = {"source": source, "line_item": item}
        if day is not None:
            if day not in labels:
                local = date.fromordinal(EPOCH + day)
                labels[day] = (local.isoformat(), local.strftime("%Y-%m"))
            named["day"], named["month"] = labels[day]
        sums[tuple(named[k] for k in keys)] += amount
        total += amount
    if [c for c in found if c != currency]:
        raise ReportError(f"stored costs are in {', '.join(sorted(found))}; the config's currency is {currency}")
    rows = sorted((k, a) for k, a in sums.items())
    # the whole seconds summed: `until` is often now, whose microseconds no reader wants
    since, until = (utc(t).astimezone(tz) for t in (start, end))
    return Report(currency, since, until, keys, rows, total)
