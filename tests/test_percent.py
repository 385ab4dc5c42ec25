from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alertd.percent import rounded_percent, shares

AMOUNT = st.integers(min_value=0, max_value=10**18)  # micro-units: up to a trillion in currency units


@pytest.mark.parametrize(
    ("part", "whole", "shown"),
    [
        (8_485, 10_000, "84.9"),  # 84.85: half-up (floor and half-even say 84.8)
        (8_495, 10_000, "85.0"),  # 84.95 (floor says 84.9)
        (8_494_999, 10_000_000, "84.9"),
        (2, 3, "66.7"),  # floor says 66.6
        (1, 3, "33.3"),
        (0, 7, "0.0"),
        (3, 3, "100.0"),
        (-1_225, 10_000, "-12.3"),  # a half away from zero
        (1_225, -10_000, "-12.3"),
        (-4, 10_000, "0.0"),  # never "-0.0"
        (9_995 * 10**27 - 1, 10**31, "99.9"),  # 99.94999…: a Decimal quotient (28 digits) reads 99.95, shown 100.0
    ],
)
def test_rounded_percent(part: int, whole: int, shown: str) -> None:
    assert str(rounded_percent(part, whole)) == shown


@given(st.integers(min_value=-(10**18), max_value=10**18), st.integers(min_value=1, max_value=10**18))
def test_rounded_percent_is_within_a_half_tenth(part: int, whole: int) -> None:
    shown = rounded_percent(part, whole)
    assert shown.as_tuple().exponent == -1
    assert abs(Fraction(shown) - Fraction(100 * part, whole)) <= Fraction(1, 20)


@pytest.mark.parametrize(
    ("amounts", "shown"),
    [
        ([1, 1, 1], ["33.4", "33.3", "33.3"]),  # each rounded: 99.9; a tie goes to the first
        ([2] * 7, ["14.3"] * 6 + ["14.2"]),  # each rounded: 100.1
        ([8_000, 5_124, 2_896], ["49.9", "32.0", "18.1"]),  # each floored: 99.8
        ([1, 1_000_000], ["0.0", "100.0"]),  # 0.0000999...: the remainder is too small to win
        ([5, 0], ["100.0", "0.0"]),
        ([7], ["100.0"]),
        ([], []),
        ([5, -1], ["125.0", "-25.0"]),  # a credit: each rounded on its own, no apportioning
        ([-1, -3], ["25.0", "75.0"]),  # a net credit: likewise
    ],
)
def test_shares(amounts: list[int], shown: list[str]) -> None:
    assert [str(s) for s in shares(amounts)] == shown


@given(st.lists(AMOUNT, min_size=1, max_size=30).filter(lambda amounts: sum(amounts) > 0))
def test_shares_add_up_to_100_and_stay_within_a_tenth(amounts: list[int]) -> None:
    shown = shares(amounts)
    assert sum(shown) == Decimal("100.0")
    total = sum(amounts)
    assert all(
        abs(Fraction(s) - Fraction(100 * a, total)) < Fraction(1, 10) for s, a in zip(shown, amounts, strict=True)
    )
