from __future__ import annotations

from decimal import Decimal

import pytest

from alertd.money import decimal_string, format_money, to_micros


@pytest.mark.parametrize(
    ("value", "scale", "micros"),
    [
        (12, Decimal(1), 12_000_000),
        ("12.345678", Decimal(1), 12_345_678),
        (0.1, Decimal(1), 100_000),  # a JSON number: via str, never float arithmetic
        ("0.0000005", Decimal(1), 0),  # half-even at the micro-unit
        ("0.0000015", Decimal(1), 2),
        (1234.5678, Decimal("0.01"), 12_345_678),  # cents
        ("-3.5", Decimal(1), -3_500_000),
        (" 7 ", Decimal(1), 7_000_000),
    ],
)
def test_to_micros(value: object, scale: Decimal, micros: int) -> None:
    assert to_micros(value, scale=scale) == micros


@pytest.mark.parametrize("value", [None, True, "abc", "NaN", "Infinity", ""])
def test_to_micros_refuses_non_amounts(value: object) -> None:
    with pytest.raises(ValueError):
        to_micros(value)


@pytest.mark.parametrize(
    ("micros", "text"),
    [(0, "0.00"), (1_500_000, "1.50"), (125, "0.000125"), (-2_000_000, "-2.00"), (123_456_789_000, "123456.789")],
)
def test_decimal_string(micros: int, text: str) -> None:
    assert decimal_string(micros) == text


@pytest.mark.parametrize(
    ("micros", "currency", "text"),
    [
        (1_234_560_000, "USD", "$1,234.56"),
        (-12_000_000, "EUR", "-€12.00"),
        (370_000, "CHF", "0.37 CHF"),
        (4_995_000, "USD", "$5.00"),
        (4_985_000, "USD", "$4.98"),  # half-even
    ],
)
def test_format_money(micros: int, currency: str, text: str) -> None:
    assert format_money(micros, currency) == text
