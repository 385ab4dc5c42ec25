"""What an import's records add up to while they stream into staging (see `Store.import_records`)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import chain
from zoneinfo import ZoneInfo

from alertd.model import CostRecord
from alertd.store.rollup import day_start, local_day


class Tally:
    """What an import's records come to, taken as they stream into staging: their one currency, the
    range of their buckets, and their sums per local day and line item, which the rollup adds when
    no stored row was in that range (instead of a GROUP BY over every imported row)."""

    def __init__(self, source: str, tz: ZoneInfo) -> None:
        self.source, self.tz = source, tz
        self.currency: str | None = None  # None until a record passed
        self.first = self.last = self.end = 0  # first and last bucket start, last bucket end
        self.days: dict[int, dict[str, int]] = {}  # local day → line item → amount

    def staged(self, records: Iterable[CostRecord]) -> Iterator[tuple[int, str, int, int]]:
        """The staging rows (bucket_start, line_item, bucket_seconds, amount) of `records`."""
        it = iter(records)
        head = next(it, None)
        if head is None:
            return
        source, currency, tz = self.source, head.currency, self.tz
        first = last = end = head.bucket_start
        bucket, since, until, sums = None, 0, 0, {}  # the last row's bucket, its local day [since, until)
        for src, start, item, seconds, amount, cur in chain((head,), it):
            if src != source or cur != currency:
                raise ValueError(f"an import into {source} in {currency} was given a row of {src} in {cur}")
            if start != bucket:  # rows of a bucket, and buckets of a day, usually come together
                bucket, first, last = start, min(first, start), max(last, start)
                if not since <= start < until:
                    day = local_day(start, tz)
                    since, until, sums = day_start(day, tz), day_start(day + 1, tz), self.days.setdefault(day, {})
            sums[item] = sums.get(item, 0) + amount
            if start + seconds > end:
                end = start + seconds
            yield start, item, seconds, amount
        self.currency, self.first, self.last, self.end = currency, first, last, end
