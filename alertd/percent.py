"""Percentages as people read them: one decimal, rounded half-up, and shares that add up to 100.0.

For display only: decisions (has 80 % been crossed?) compare the exact value, so 79.96 % reads
80.0 % without having crossed 80. Integer arithmetic throughout, so any amount is exact (a
Decimal quotient stops at 28 digits).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal


def rounded_percent(part: int, whole: int) -> Decimal:
    """`part` in percent of `whole` (not zero), to 0.1, a half away from zero like Decimal's
    ROUND_HALF_UP: 84.95 → 85.0, -12.25 → -12.3. Never more than 0.05 from the exact value."""
    tenths = (2000 * abs(part) + abs(whole)) // (2 * abs(whole))
    return _tenths(-tenths if (part < 0) != (whole < 0) else tenths)


def shares(amounts: Sequence[int]) -> list[Decimal]:
    """Each amount in percent of their sum (not zero), to 0.1, adding up to exactly 100.0.

    Largest remainder: every exact share is floored, then the tenths still missing go one each
    to the largest remainders, the earlier amount first on a tie. Each is within 0.1 of exact.
    """
    total = sum(amounts)
    if total <= 0 or any(a < 0 for a in amounts):
        # With a credit the shares of the net total run outside 0..100: they are not parts of a
        # whole to apportion, so each is rounded on its own.
        return [rounded_percent(a, total) for a in amounts]
    floored = [divmod(1000 * a, total) for a in amounts]
    missing = 1000 - sum(q for q, _ in floored)
    ranked = sorted(range(len(amounts)), key=lambda i: -floored[i][1])  # sorted() is stable: earlier first
    bumped = set(ranked[:missing])
    return [_tenths(q + (i in bumped)) for i, (q, _) in enumerate(floored)]


def _tenths(tenths: int) -> Decimal:
    return Decimal(tenths).scaleb(-1)  # always one decimal: Decimal("85.0"), Decimal("0.0")
