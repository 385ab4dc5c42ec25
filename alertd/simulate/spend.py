"""Deterministic, seeded, realistic spend for the fake providers. Amounts are exact.

Every value is a pure function of (seed, hour or day, line item), so overlapping ranges agree
and a demo restarted tomorrow shows the same history. Amounts are built as integers and turned
into Decimal at the end; floats only ever decide *whether* something happens.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

_TICKS_PER_CENT = 10_000  # Northflank amounts carry up to 4 decimal places of a cent
_PER_MILLE = 1000
_PER_MILLION = 1_000_000
# Load by UTC hour, per mille of an average hour: quiet nights, busy working hours.
_DAY_SHAPE = (
    550, 520, 500, 500, 520, 580, 680, 820, 1000, 1150, 1250, 1300,
    1300, 1320, 1300, 1250, 1180, 1080, 950, 850, 760, 690, 630, 590,
)  # fmt: skip
_WEEKEND = 650  # per mille of a weekday's load
_UNITEMISED_RATE = 0.02  # hours whose total differs from its parts (a credit, a rounding line)

_FRIENDLI_ITEMS = (
    "my-endpoint, h100, gpu time cost",
    "meta-llama-3.1-8b-instruct, input tokens cost",
    "meta-llama-3.1-8b-instruct, output tokens cost",
    "meta-llama-3.3-70b-instruct, input tokens cost",
    "meta-llama-3.3-70b-instruct, output tokens cost",
)
_ABSENT_RATE = 0.15  # days on which a line item has no usage at all
_MICRO = Decimal("0.000001")


def northflank_hours(
    start: int,
    hours: int,
    seed: int = 0,
    *,
    scale_cents: int = 120,
    spike: tuple[int, int, Decimal] | None = None,
    byoc: bool = True,
) -> dict[int, dict[str, Any]]:
    """Hourly Northflank usage entries, keyed by hour-start unix timestamp, prices in cents.

    `scale_cents` is roughly an average hour's PaaS total. `spike=(from_ts, to_ts, factor)`
    multiplies CPU and GPU for hours in [from_ts, to_ts). About 1 hour in 50 has a total
    that is not the sum of its parts. `byoc=False` leaves `byocUsage` out.
    """
    if start % 3600:
        raise ValueError(f"start {start} is not on an hour")
    if hours < 0:
        raise ValueError(f"negative hours: {hours}")
    base = scale_cents * _TICKS_PER_CENT
    return {ts: _northflank_hour(ts, seed, base, spike, byoc) for ts in range(start, start + hours * 3600, 3600)}


def _northflank_hour(
    ts: int, seed: int, base: int, spike: tuple[int, int, Decimal] | None, byoc: bool
) -> dict[str, Any]:
    moment = datetime.fromtimestamp(ts, UTC)
    week = _WEEKEND if moment.weekday() >= 5 else _PER_MILLE
    load = _DAY_SHAPE[moment.hour] * week  # per million
    # Memory and always-on services follow the load only half-way.
    steady = (_PER_MILLION + load) // 2
    busy = load >= _PER_MILLION

    rng = random.Random(f"nf:{seed}:{ts}:paas")
    paas = {
        "cpu": _noisy(base * 50 // 100, load, rng),
        "memory": _noisy(base * 30 // 100, steady, rng),
        "storage": base * 8 // 100,  # volumes bill the same every hour
        "gpu": _noisy(base * 120 // 100, load, rng) if rng.random() < (0.2 if busy else 0.03) else 0,
    }
    if spike is not None and spike[0] <= ts < spike[1]:
        paas["cpu"] = _times(paas["cpu"], spike[2])
        paas["gpu"] = _times(paas["gpu"], spike[2])
    blocks = {"paasUsage": paas}
    if byoc:
        rng = random.Random(f"nf:{seed}:{ts}:byoc")
        blocks["byocUsage"] = {
            "vcpu": _noisy(base * 35 // 100, steady, rng),
            "memory": _noisy(base * 20 // 100, steady, rng),
            "gpuMemory": _noisy(base * 60 // 100, load, rng) if rng.random() < 0.05 else 0,
            "cluster": base * 12 // 100,  # the cluster fee is flat
        }

    totals = {name: sum(parts.values()) for name, parts in blocks.items()}
    rng = random.Random(f"nf:{seed}:{ts}:other")
    if rng.random() < _UNITEMISED_RATE:
        # A line the API does not itemise: the client must keep it as "other".
        name = rng.choice(sorted(blocks))
        sign = rng.choice((-1, 1)) if totals[name] else 1
        totals[name] += sign * rng.randint(1, max(1, totals[name] // 20))

    entry: dict[str, Any] = {"timestamp": ts}
    for name, parts in blocks.items():
        price = {"total": totals[name]} | parts
        entry[name] = {"price": {key: _cents(ticks) for key, ticks in price.items()}}
    return entry


def _noisy(amount: int, load_per_million: int, rng: random.Random) -> int:
    """`amount` scaled by the load, with ±15 % multiplicative noise, in whole ticks."""
    noise = rng.randint(850, 1150)  # per mille
    return amount * load_per_million * noise // (_PER_MILLION * _PER_MILLE)


def _times(ticks: int, factor: Decimal) -> int:
    return int((Decimal(ticks) * factor).to_integral_value(ROUND_HALF_EVEN))


def _cents(ticks: int) -> Decimal:
    """Ticks as cents with no trailing zeros and no exponent: 12.3456, 12.3, 0, 120."""
    value = Decimal(ticks).scaleb(-4)
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()


def northflank_dollars(usage: dict[int, dict[str, Any]], since: int = 0) -> Decimal:
    """What the provider bills for the hours from `since`: PaaS plus BYOC totals, cents → units."""
    cents = sum(
        (
            Decimal(str(entry[block]["price"]["total"]))
            for ts, entry in usage.items()
            if ts >= since
            for block in ("paasUsage", "byocUsage")
            if block in entry
        ),
        Decimal(0),
    )
    return cents / 100


def friendli_dollars(days: dict[date, list[dict[str, Any]]]) -> Decimal:
    """The sum of every result's `total` (USD)."""
    return sum((Decimal(str(r["total"])) for results in days.values() for r in results), Decimal(0))


def friendli_days(
    start: date, days: int, seed: int = 0, *, line_items: list[str] | None = None
) -> dict[date, list[dict[str, Any]]]:
    """Daily Friendli cost results per UTC day (an empty list on a day without usage).

    Each result is {"total": USD, 6 dp; "quantity"; "unit_price": USD cents; "line_item"}.
    Items ending in "gpu time cost" bill GPU hours, "... tokens cost" millions of tokens.
    """
    if days < 0:
        raise ValueError(f"negative days: {days}")
    items = _FRIENDLI_ITEMS if line_items is None else line_items
    result: dict[date, list[dict[str, Any]]] = {}
    for offset in range(days):
        day = start + timedelta(days=offset)
        costs = (_friendli_cost(day, item, seed) for item in items)
        result[day] = [cost for cost in costs if cost is not None]
    return result


def _friendli_cost(day: date, item: str, seed: int) -> dict[str, Any] | None:
    rng = random.Random(f"fl:{seed}:{day.isoformat()}:{item}")
    if rng.random() < _ABSENT_RATE:
        return None
    unit_price, low, high = _friendli_profile(item, seed)
    week = _WEEKEND if day.weekday() >= 5 else _PER_MILLE
    quantity = Decimal(rng.randint(low, high) * week // _PER_MILLE).scaleb(-6)
    total = (quantity * unit_price / 100).quantize(_MICRO, ROUND_HALF_EVEN)
    return {"total": total, "quantity": quantity, "unit_price": unit_price, "line_item": item}


def _friendli_profile(item: str, seed: int) -> tuple[Decimal, int, int]:
    """Unit price in USD cents, and the range of a day's quantity in millionths of a unit."""
    if item.endswith("gpu time cost"):  # GPU hours of a dedicated endpoint
        return Decimal(390), 4_000_000, 24_000_000
    if item.endswith("tokens cost"):  # millions of tokens; a 70B model costs six times more
        price = Decimal(60) if "70b" in item else Decimal(10)
        if item.endswith("output tokens cost"):
            return price, 50_000, 8_000_000
        return price, 200_000, 30_000_000
    rng = random.Random(f"fl:{seed}:{item}")
    return Decimal(rng.randint(1, 500)), 100_000, 10_000_000


# --- OpenAI: daily costs per project and line item ---------------------------------------------

OPENAI_PROJECTS = ("proj_Jx4fT0kQ2mWv8bRz9sLc1nYd", "proj_Pq7aH3uE6gKs0dVt2wXo5iMb")
# (line item, a day's cost range in micro-dollars on a weekday)
_OPENAI_ITEMS = (
    ("gpt-4o-2024-08-06, input", 2_000_000, 40_000_000),
    ("gpt-4o-2024-08-06, output", 4_000_000, 90_000_000),
    ("gpt-4o-2024-08-06, cached input", 100_000, 5_000_000),
    ("gpt-4o-mini-2024-07-18, input", 50_000, 3_000_000),
    ("gpt-4o-mini-2024-07-18, output", 100_000, 6_000_000),
    ("text-embedding-3-small", 1_000, 400_000),
    ("web search tool calls", 0, 2_500_000),
)
_OPENAI_UNATTRIBUTED_RATE = 0.05  # days with a cost the API puts under no project


def openai_days(
    start: date, days: int, seed: int = 0, *, projects: tuple[str, ...] = OPENAI_PROJECTS
) -> dict[date, list[dict[str, Any]]]:
    """Daily OpenAI cost results per UTC day: {"project_id", "line_item", "amount": USD (6 dp)}.

    Each project uses a seeded share of the line items; some items are absent on some days;
    now and then a day has a cost with no project (`project_id` None).
    """
    if days < 0:
        raise ValueError(f"negative days: {days}")
    result: dict[date, list[dict[str, Any]]] = {}
    for offset in range(days):
        day = start + timedelta(days=offset)
        costs = [_openai_cost(day, project, item, seed) for project in projects for item in _OPENAI_ITEMS]
        rng = random.Random(f"oa:{seed}:{day.isoformat()}:none")
        if rng.random() < _OPENAI_UNATTRIBUTED_RATE:
            amount = _micro_amount(rng, 1, 900_000)
            costs.append({"project_id": None, "line_item": "fine-tuning storage", "amount": amount})
        result[day] = [cost for cost in costs if cost is not None]
    return result


def _openai_cost(day: date, project: str, item: tuple[str, int, int], seed: int) -> dict[str, Any] | None:
    name, low, high = item
    if random.Random(f"oa:{seed}:{project}:{name}").random() < 0.3:  # a model this project does not use
        return None
    rng = random.Random(f"oa:{seed}:{day.isoformat()}:{project}:{name}")
    if rng.random() < _ABSENT_RATE:
        return None
    week = _WEEKEND if day.weekday() >= 5 else _PER_MILLE
    return {"project_id": project, "line_item": name, "amount": _micro_amount(rng, low * week // _PER_MILLE, high)}


def _micro_amount(rng: random.Random, low: int, high: int) -> Decimal:
    """A seeded amount in [low, high] micro-units, as currency units: 0.000001 steps, exact."""
    return Decimal(rng.randint(low, max(low, high))).scaleb(-6)


def openai_dollars(days: dict[date, list[dict[str, Any]]], projects: tuple[str, ...] | None = None) -> Decimal:
    """The sum of every result's amount (USD), of `projects` only if given."""
    return sum(
        (
            Decimal(str(r["amount"]))
            for results in days.values()
            for r in results
            if projects is None or r["project_id"] in projects
        ),
        Decimal(0),
    )


# (description, model, token type, a day's cost in 1/100,000 of a cent: low, high). Anthropic's
# amounts carry sub-cent digits ("123.78912" cents); the fifth decimal is finer than a micro-dollar.
_SONNET, _HAIKU = "claude-sonnet-4-20250514", "claude-3-5-haiku-20241022"
_ANTHROPIC_ITEMS = (
    ("Claude Sonnet 4 Usage - Input Tokens", _SONNET, "uncached_input_tokens", 20_000_000, 200_000_000),
    ("Claude Sonnet 4 Usage - Output Tokens", _SONNET, "output_tokens", 30_000_000, 400_000_000),
    ("Claude Sonnet 4 Usage - Cache Read", _SONNET, "cache_read_input_tokens", 1_000_000, 20_000_000),
    ("Claude Haiku 3.5 Usage - Input Tokens", _HAIKU, "uncached_input_tokens", 500_000, 9_000_000),
    ("Claude Haiku 3.5 Usage - Output Tokens", _HAIKU, "output_tokens", 1_000_000, 20_000_000),
    ("Web Search Usage", None, None, 100_000, 5_000_000),
    ("Code Execution Usage", None, None, 50_000, 2_000_000),
)
ANTHROPIC_WORKSPACES = (None, "wrkspc_01JwQvzr7rXLA5AGx3HKfFUJ")  # None: the default workspace


def anthropic_days(
    start: date, days: int, seed: int = 0, *, workspaces: tuple[str | None, ...] = ANTHROPIC_WORKSPACES
) -> dict[date, list[dict[str, Any]]]:
    """Daily Anthropic cost-report results per UTC day, grouped by workspace and description.

    Each result is as the API writes it with both groupings, `amount` in cents as an exact
    Decimal with five places (the fake writes it as a decimal string).
    """
    if days < 0:
        raise ValueError(f"negative days: {days}")
    result: dict[date, list[dict[str, Any]]] = {}
    for offset in range(days):
        day = start + timedelta(days=offset)
        costs = (_anthropic_cost(day, workspace, item, seed) for workspace in workspaces for item in _ANTHROPIC_ITEMS)
        result[day] = [cost for cost in costs if cost is not None]
    return result


def _anthropic_cost(
    day: date, workspace: str | None, item: tuple[str, str | None, str | None, int, int], seed: int
) -> dict[str, Any] | None:
    description, model, token_type, low, high = item
    rng = random.Random(f"an:{seed}:{day.isoformat()}:{workspace}:{description}")
    if rng.random() < _ABSENT_RATE:
        return None
    week = _WEEKEND if day.weekday() >= 5 else _PER_MILLE
    busy = 3 if workspace is None else 1  # the default workspace carries most traffic
    amount = Decimal(rng.randint(low, high) * busy * week // _PER_MILLE).scaleb(-5)
    cost_type = "tokens" if token_type else description.split(" Usage")[0].lower().replace(" ", "_")
    return {
        "amount": amount,
        "currency": "USD",
        "description": description,
        "model": model,
        "cost_type": cost_type,
        "token_type": token_type,
        "context_window": "0-200k" if token_type else None,
        "service_tier": "standard" if token_type else None,
        "workspace_id": workspace,
    }


def anthropic_dollars(days: dict[date, list[dict[str, Any]]]) -> Decimal:
    """The exact sum of every result's `amount` (cents), in USD."""
    return sum((Decimal(str(r["amount"])) for results in days.values() for r in results), Decimal(0)) / 100
