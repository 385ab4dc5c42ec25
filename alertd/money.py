"""Exact money: integer micro-units in storage and arithmetic, Decimal at the edges."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

MICROS = 1_000_000
_MICRO = Decimal(MICROS)
_CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹", "KRW": "₩"}


def to_micros(value: object, *, scale: Decimal = Decimal(1)) -> int:
    """Exact micro-units of a provider number or decimal string (never via float).

    `scale` converts a provider unit into currency units (Decimal("0.01") for cents).
    Digits beyond a micro-unit are rounded half-even.
    """
    if isinstance(value, bool) or value is None:
        raise ValueError(f"not an amount: {value!r}")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"not an amount: {value!r}") from None
    if not amount.is_finite():
        raise ValueError(f"not an amount: {value!r}")
    return int((amount * scale * _MICRO).to_integral_value(ROUND_HALF_EVEN))


def to_decimal(micros: int) -> Decimal:
    return Decimal(micros).scaleb(-6)


def decimal_string(micros: int) -> str:
    """Currency units as a plain decimal string, at least two places: '1234.50', '0.000125'."""
    text = f"{to_decimal(micros):f}"
    whole, _, frac = text.partition(".")
    frac = frac.rstrip("0").ljust(2, "0")
    return f"{whole}.{frac}"


def format_money(micros: int, currency: str) -> str:
    """For people: '$1,234.56', '-€12.00', '0.37 CHF'. Rounded to cents."""
    cents = to_decimal(micros).quantize(Decimal("0.01"), ROUND_HALF_EVEN)
    sign = "-" if cents < 0 else ""
    body = f"{abs(cents):,.2f}"
    symbol = _CURRENCY_SYMBOLS.get(currency)
    return f"{sign}{symbol}{body}" if symbol else f"{sign}{body} {currency}"
