"""What a scan says about each bucket: its parameters, one `Point` per bucket, and `Verdicts`,
the lean sequence of them a scan returns (most buckets are calm and kept as just a score)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import NamedTuple, overload

DEFAULT_SENSITIVITY = 4.0
ABS_NOISE_FLOOR = 10_000  # micro-units: a cent, so that a flat history does not alarm on dust


@dataclass(frozen=True, slots=True)
class AnomalyParams:
    sensitivity: float = DEFAULT_SENSITIVITY
    min_impact: int = 0  # micro-units per bucket
    min_share: Decimal = Decimal(0)  # percent of the series' typical bucket an excess must also reach
    min_percent: Decimal = Decimal(0)
    direction: str = "up"  # up, down, both
    baseline: timedelta | None = None  # default: 28 days hourly, 120 days daily


class Point(NamedTuple):
    """The verdict on one bucket. `expected` is None when there is not enough history."""

    value: int | None
    expected: int | None
    score: float  # robust z-score of the deviation
    anomalous: bool
    # spike, ramp, new, peak, trough; or why not: "" (calm), elevated (past half the threshold),
    # recurring, small (under min_impact / min_percent), gap, insufficient
    reason: str
    sigma: float = 0.0  # the noise level (a log ratio) the score was measured against
    sensitivity: float = 0.0

    @property
    def low(self) -> int:
        """The bottom of the usual range (0 before there is one)."""
        if self.expected is None or not self.sensitivity:
            return 0
        base = self.expected + ABS_NOISE_FLOOR
        return max(0, int(base * math.exp(-self.sensitivity * self.sigma)) - ABS_NOISE_FLOOR)

    @property
    def high(self) -> int:
        if self.expected is None or not self.sensitivity:
            return 0
        return int((self.expected + ABS_NOISE_FLOOR) * math.exp(self.sensitivity * self.sigma)) - ABS_NOISE_FLOOR


class Verdicts(Sequence[Point]):
    """A scan's verdicts, a Point per bucket. Most buckets are calm: one of those is kept as just
    its score (in `items`) and noise level, and made a Point when asked for."""

    __slots__ = ("expected", "items", "sensitivity", "sigmas", "values")

    def __init__(
        self,
        items: list[Point | float],
        sigmas: list[float],
        values: Sequence[int],
        expected: Sequence[int],
        sensitivity: float,
    ) -> None:
        self.items = items  # per bucket its Point, or the score of a calm one
        self.sigmas, self.values, self.expected, self.sensitivity = sigmas, values, expected, sensitivity

    def __len__(self) -> int:
        return len(self.items)

    @overload
    def __getitem__(self, i: int) -> Point: ...

    @overload
    def __getitem__(self, i: slice) -> list[Point]: ...

    def __getitem__(self, i: int | slice) -> Point | list[Point]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self.items)))]
        item = self.items[i]
        if isinstance(item, float):
            return Point(self.values[i], self.expected[i], item, False, "", self.sigmas[i], self.sensitivity)
        return item

    def __add__(self, other: Verdicts) -> Verdicts:
        """The verdicts of a scan and of the one resumed after it."""
        return Verdicts(
            self.items + other.items,
            self.sigmas + other.sigmas,
            [*self.values, *other.values],
            [*self.expected, *other.expected],
            self.sensitivity,
        )
